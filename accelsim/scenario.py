"""Scenario files (TOML): a network, how it is pruned, how it is cut into jobs, the hardware,
the policy and the seed. Every malformed value is reported with the file, field and value.

    name = "default"          # optional; the file's stem otherwise
    seed = 1
    policy = "lpt"
    baselines = true          # also simulate the dense design and round-robin for speedups
    engine = "auto"           # "simpy": the reference model everywhere; "fast": closed form only
    [workload]  network = "resnet18"   layers = ["conv1", ...]   (optional subset)
    [pruning]   profile = "NAME or file" | density = 0.3, cv = 0.3 | dense = true
                | weights = "f.npz" (or a shipped name), keep = 0.3,
                  method = "layer" | "global" | "nm" (n = 2, m = 4) | "balanced"
                | measured = "ddddocr_ocr.layer80" (a shipped measured-mask file, or a path)
    [mapping]   tile_h, tile_w, filters_per_job, channel_splits
    [hardware]  see accelsim.config.Hardware
    [energy]    see accelsim.config.EnergyTable
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs
from attrs import frozen

from accelsim.assemble import ENGINES
from accelsim.config import EnergyTable, Hardware, Mapping
from accelsim.errors import ConfigError
from accelsim.workload.layers import Network
from accelsim.workload.measured import check_measured, load_measured, measured_path, \
    shipped_measured
from accelsim.workload.methods import METHODS, prune_weights
from accelsim.workload.pruning import (FITTED_CV, PrunedNetwork, SparsityProfile, dense_network,
                                       load_profile, load_weights, prune_with_profile,
                                       shipped_weights, weights_path)
from accelsim.workload.topology import load_network

_TOP = {"name", "seed", "policy", "baselines", "engine", "workload", "pruning", "mapping", "hardware",
        "energy"}
_PRUNING = {"profile", "density", "cv", "weights", "keep", "dense", "method", "n", "m",
            "measured"}


@frozen
class Pruning:
    """One of: dense, a profile (shipped name or file), a uniform density with spread,
    magnitude pruning of a weights file, or the measured counts of a real pruned network."""

    dense: bool = False
    profile: SparsityProfile | None = None
    weights: Path | None = None
    keep: float | dict[str, float] = 1.0
    method: str = "layer"
    n: int = 2
    m: int = 4
    measured: Path | None = None

    def apply(self, network: Network, seed: int, src: str) -> PrunedNetwork:
        if self.dense:
            return dense_network(network)
        if self.measured is not None:
            return load_measured(self.measured, network)
        if self.weights is not None:
            return prune_weights(network, load_weights(self.weights), self.method, self.keep,
                                 self.n, self.m, src=self.weights.name)
        return prune_with_profile(network, self.profile, seed, src)


@frozen
class Scenario:
    name: str
    source: str
    network: Network
    pruning: Pruning
    mapping: Mapping
    hardware: Hardware
    energy: EnergyTable
    policy: str = "lpt"
    seed: int = 1
    baselines: bool = True
    layers: tuple[str, ...] | None = None
    engine: str = "auto"

    def pruned(self, seed: int | None = None) -> PrunedNetwork:
        """The whole network pruned (a profile describes all of it), then the chosen layers:
        each layer's draw depends on its name, so a subset gets the same masks."""
        whole = self.pruning.apply(self.network, self.seed if seed is None else seed,
                                   self.source)
        return whole if self.layers is None else whole.only(self.layers)


def _table(data: dict, key: str, src: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{src}: [{key}] must be a table; got {value!r}")
    return value


def _build(cls, values: dict, section: str, src: str):
    known = {a.name for a in attrs.fields(cls)}
    for key in values:
        if key not in known:
            raise ConfigError(f"{src}: [{section}] unknown field {key!r}; known: "
                              f"{', '.join(sorted(known))}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{src}: [{section}] {exc}") from None


def read_toml(path: Path, what: str) -> dict:
    """A TOML file as a dict; an unreadable or malformed file is a ConfigError naming it."""
    try:
        return tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return scenario_from_dict(read_toml(path, "scenario"), str(path), base=path.parent)


def scenario_from_dict(data: dict, src: str, base: Path = Path(".")) -> Scenario:
    for key in data:
        if key not in _TOP:
            raise ConfigError(f"{src}: unknown field {key!r}; known: {', '.join(sorted(_TOP))}")
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"{src}: seed = {seed!r}: must be an integer >= 0")
    policy = data.get("policy", "lpt")
    if not isinstance(policy, str) or not policy:
        raise ConfigError(f"{src}: policy = {policy!r}: must be a policy name")
    baselines = data.get("baselines", True)
    if not isinstance(baselines, bool):
        raise ConfigError(f"{src}: baselines = {baselines!r}: must be true or false")
    engine = data.get("engine", "auto")
    if engine not in ENGINES:
        raise ConfigError(f"{src}: engine = {engine!r}: must be one of {', '.join(ENGINES)}")

    workload = _table(data, "workload", src)
    for key in workload:
        if key not in ("network", "layers"):
            raise ConfigError(f"{src}: [workload] unknown field {key!r}; known: layers, network")
    if "network" not in workload:
        raise ConfigError(f"{src}: [workload] network is missing (a shipped name or a CSV file)")
    try:
        network = load_network(workload["network"], base)
    except ConfigError as exc:
        raise ConfigError(f"{src}: [workload] network: {exc}") from None
    layers = None
    if "layers" in workload:
        layers = workload["layers"]
        macs = [l.name for l in network.mac_layers]
        if not isinstance(layers, list) or not layers or \
                any(not isinstance(n, str) or n not in macs for n in layers):
            raise ConfigError(f"{src}: [workload] layers = {layers!r}: must be a non-empty list "
                              f"of MAC layers of {network.name} ({', '.join(macs[:6])}, ...)")
        layers = tuple(layers)

    pruning = _pruning(_table(data, "pruning", src), src, base)
    mapping = _build(Mapping, _table(data, "mapping", src), "mapping", src)
    hardware = _build(Hardware, _table(data, "hardware", src), "hardware", src)
    energy = _build(EnergyTable, _table(data, "energy", src), "energy", src)
    if pruning.measured is not None:
        check_measured(pruning.measured, network, f"{src}: [pruning] measured")
    name = data.get("name", Path(src).stem)
    return Scenario(name=str(name), source=src, network=network, pruning=pruning,
                    mapping=mapping, hardware=hardware, energy=energy, policy=policy, seed=seed,
                    baselines=baselines, layers=layers, engine=engine)


def _pruning(table: dict, src: str, base: Path) -> Pruning:
    for key in table:
        if key not in _PRUNING:
            raise ConfigError(f"{src}: [pruning] unknown field {key!r}; known: "
                              f"{', '.join(sorted(_PRUNING))}")
    chosen = [k for k in ("dense", "profile", "density", "weights", "measured") if k in table]
    if len(chosen) != 1:
        raise ConfigError(f"{src}: [pruning] needs exactly one of dense = true, profile, "
                          f"density (with cv), weights (with keep) or measured; got "
                          f"{chosen or 'none'}")
    how = chosen[0]
    if how == "dense":
        if table["dense"] is not True:
            raise ConfigError(f"{src}: [pruning] dense = {table['dense']!r}: only true is meaningful")
        return Pruning(dense=True)
    if how == "profile":
        try:
            return Pruning(profile=load_profile(table["profile"], base))
        except ConfigError as exc:
            raise ConfigError(f"{src}: [pruning] profile: {exc}") from None
    if how == "density":
        profile = SparsityProfile.uniform(table["density"], table.get("cv", FITTED_CV))
        try:
            profile.validate(f"{src}: [pruning]")
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("default_density", "density")) from None
        return Pruning(profile=profile)
    if how == "measured":
        name = table["measured"]
        path = measured_path(name) if name in shipped_measured() else \
            (Path(name) if Path(name).is_absolute() else base / name)
        if not path.is_file():
            raise ConfigError(f"{src}: [pruning] measured = {name!r}: no such file (shipped: "
                              f"{', '.join(shipped_measured())})")
        return Pruning(measured=path)
    if table["weights"] in shipped_weights():
        weights = weights_path(table["weights"])
    else:
        weights = Path(table["weights"])
        weights = weights if weights.is_absolute() else base / weights
    if not weights.is_file():
        raise ConfigError(f"{src}: [pruning] weights = {table['weights']!r}: no such file "
                          f"(shipped: {', '.join(shipped_weights()) or 'none'})")
    keep = table.get("keep", 1.0)
    if not isinstance(keep, (int, float, dict)) or isinstance(keep, bool):
        raise ConfigError(f"{src}: [pruning] keep = {keep!r}: a fraction, or a table of them")
    method = table.get("method", "layer")
    if method not in METHODS:
        raise ConfigError(f"{src}: [pruning] method = {method!r}: must be one of "
                          f"{', '.join(METHODS)}")
    n, m = table.get("n", 2), table.get("m", 4)
    if not (isinstance(n, int) and isinstance(m, int) and 1 <= n <= m) \
            or isinstance(n, bool) or isinstance(m, bool):
        raise ConfigError(f"{src}: [pruning] n = {n!r}, m = {m!r}: need integers 1 <= n <= m")
    return Pruning(weights=weights, keep=keep, method=method, n=n, m=m)
