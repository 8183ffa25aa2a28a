"""Scenario files (TOML): a network, how it is pruned, how it is cut into jobs, the hardware,
the policy and the seed. Every malformed value is reported with the file, field and value.

    name = "default"          # optional; the file's stem otherwise
    seed = 1
    policy = "lpt"
    [policy_options]  evaluations = 400   (keyword arguments of the policy, e.g. hardware-aware's)
    baselines = true          # also simulate the dense design and round-robin for speedups
    engine = "auto"           # "simpy": the reference model everywhere; "fast": closed form only
    [workload]  network = "resnet18"   layers = ["conv1", ...]   (optional subset)
                network = "model.onnx"  input_shape = [3, 32, 100] (C, H, W the file leaves open)
                activation_density = 0.5 (or a table per layer), activation_cv = 0.3
    [pruning]   profile = "NAME or file" | density = 0.3 (cv = "fitted" or a number) | dense = true
                | weights = "f.npz" (or a shipped name), keep = 0.3,
                  method = "layer" | "global" | "nm" (n = 2, m = 4) | "balanced"
                | measured = "ddddocr_ocr.layer80" (a shipped measured-mask file, or a path)
    [mapping]   tile_h, tile_w, filters_per_job, channel_splits (mode = "fixed"), or
                mode = "auto" with objective = "cycles" | "energy" | "edp", budget = 200
                (the default when none of the four numbers is given: accelsim.engine.mapper);
                either way, weight_ / input_ / output_buffer_allotment_bytes: the part
                of a buffer the layers use (all of it when left out)
    [hardware]  see accelsim.config.Hardware
    [energy]    see accelsim.config.EnergyTable
    [area]      see accelsim.config.AreaTable
    [reference] kind = "systolic", dataflow = "ws" | "os" | "is", rows, cols (the iso-MAC
                shape), filter_sram_bytes, ifmap_sram_bytes, ofmap_sram_bytes,
                dram_bytes_per_cycle: the dense array the report compares against
                (accelsim.engine.systolic.Reference; every field optional)
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import attrs
from attrs import frozen

from accelsim.config import ALLOTMENTS, AreaTable, EnergyTable, Hardware, Mapping
from accelsim.engine.assemble import ENGINES
from accelsim.engine.systolic import Reference
from accelsim.errors import ConfigError, did_you_mean, unknown
from accelsim.files import folder_name, read_text
from accelsim.workload.networks.layers import Network
from accelsim.workload.networks.topology import load_network
from accelsim.workload.sparsity.measured import (
    check_measured,
    load_measured,
    measured_path,
    shipped_measured,
)
from accelsim.workload.sparsity.methods import METHODS, prune_weights
from accelsim.workload.sparsity.pruning import (
    FITTED_CV,
    PrunedNetwork,
    SparsityProfile,
    dense_network,
    load_profile,
    load_weights,
    prune_with_profile,
    shipped_weights,
    weights_path,
)

_TOP = {
    "name",
    "seed",
    "policy",
    "policy_options",
    "baselines",
    "engine",
    "workload",
    "pruning",
    "mapping",
    "hardware",
    "energy",
    "area",
    "reference",
}
# a lower density is all zeros at any layer size, and its Beta spread would divide by zero
MIN_ACTIVATION_DENSITY = 1e-6
_WORKLOAD = ("activation_cv", "activation_density", "input_shape", "layers", "network")
_PRUNING = {"profile", "density", "cv", "weights", "keep", "dense", "method", "n", "m", "measured"}


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
    input_shape: tuple[int, ...] | None = None  # of an ONNX weights file with open dimensions

    def apply(self, network: Network, seed: int, src: str) -> PrunedNetwork:
        if self.dense:
            return dense_network(network)
        if self.measured is not None:
            return load_measured(self.measured, network)
        if self.weights is not None:
            return prune_weights(
                network,
                load_weights(self.weights, self.input_shape),
                self.method,
                self.keep,
                self.n,
                self.m,
                src=self.weights.name,
            )
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
    area: AreaTable = AreaTable()
    policy: str = "lpt"
    seed: int = 1
    policy_options: dict = attrs.field(factory=dict, eq=False)
    activation_density: dict = attrs.field(factory=dict, eq=False)  # layer or "default"
    activation_cv: float = 0.3
    baselines: bool = True
    layers: tuple[str, ...] | None = None
    engine: str = "auto"
    reference: Reference = Reference()

    def pruned(self, seed: int | None = None) -> PrunedNetwork:
        """The whole network pruned (a profile describes all of it), then the chosen layers:
        each layer's draw depends on its name, so a subset gets the same masks."""
        whole = self.pruning.apply(self.network, self.seed if seed is None else seed, self.source)
        if self.activation_density:
            default = self.activation_density.get("default", 1.0)
            whole = attrs.evolve(
                whole,
                layers=[
                    attrs.evolve(
                        p,
                        activation_density=self.activation_density.get(p.layer.name, default),
                        activation_cv=self.activation_cv,
                    )
                    for p in whole.layers
                ],
            )
        return whole if self.layers is None else whole.only(self.layers)


def _activations(
    workload: dict, network: Network, src: str, base: Path = Path(".")
) -> tuple[dict, float]:
    """[workload] activation_density (one number, a table of MAC layers and "default", or
    the name or path of a sparsity profile whose [activation_density] table cites them) and
    activation_cv, checked."""
    value = workload.get("activation_density", {})
    if isinstance(value, str):
        try:
            profile = load_profile(value, base)
        except ConfigError as exc:
            raise ConfigError(f"{src}: [workload] activation_density = {value!r}: {exc}") from None
        if not profile.activation_density:
            raise ConfigError(
                f"{src}: [workload] activation_density = {value!r}: the profile "
                f"has no [activation_density] table (shipped ones with it: "
                f"han2015-alexnet, han2015-vgg16)"
            )
        value = dict(profile.activation_density)
    table = value if isinstance(value, dict) else {"default": value}
    macs = [l.name for l in network.mac_layers]
    for key, density in table.items():
        where = "activation_density" if not isinstance(value, dict) else f"activation_density.{key}"
        if key != "default" and key not in macs:
            raise ConfigError(f"{src}: [workload] {where}: {network.name} has no MAC layer {key!r}")
        if (
            isinstance(density, bool)
            or not isinstance(density, (int, float))
            or not MIN_ACTIVATION_DENSITY <= density <= 1
        ):
            raise ConfigError(
                f"{src}: [workload] {where} = {density!r}: must be a fraction "
                f"of nonzero inputs, from {MIN_ACTIVATION_DENSITY:g} to 1"
            )
    cv = workload.get("activation_cv", 0.3)
    if isinstance(cv, bool) or not isinstance(cv, (int, float)) or not 0 <= cv <= 10:
        raise ConfigError(
            f"{src}: [workload] activation_cv = {cv!r}: must be a number from 0 to 10"
        )
    return table, float(cv)


def _check_effect(workload: dict, given: dict, hw: Hardware, src: str) -> None:
    """Fields that change nothing on this hardware are refused, not silently ignored."""
    if not hw.pe_skips_activations:
        for key in ("activation_density", "activation_cv"):
            if key in workload:
                raise ConfigError(
                    f"{src}: [workload] {key} = {workload[key]!r} has no effect: the PEs do "
                    f"not skip zero inputs; set [hardware] pe_skips_activations = true, or "
                    f"leave {key} out"
                )
    if "pe_window" in given and hw.pe_model != "window":
        raise ConfigError(
            f"{src}: [hardware] pe_window = {given['pe_window']!r} has no effect with "
            f'pe_model = {hw.pe_model!r} (only with pe_model = "window")'
        )


def _text(value, where: str, what: str) -> str:
    """A field that names something: text, not empty (a number or list would be read as a
    path and fail far from the field)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} = {value!r}: must be text, {what}")
    return value


def _table(data: dict, key: str, src: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{src}: [{key}] must be a table; got {value!r}")
    return value


def _build(cls, values: dict, section: str, src: str):
    known = {a.name for a in attrs.fields(cls)}
    for key in values:
        if key not in known:
            raise unknown(f"{src}: [{section}]", key, known)
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{src}: [{section}] {exc}") from None


def read_toml(path: Path, what: str) -> dict:
    """A TOML file as a dict; an unreadable or malformed file is a ConfigError naming it."""
    text = read_text(path, what)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    return scenario_from_dict(read_toml(path, "scenario"), str(path), base=path.parent)


def scenario_from_dict(data: dict, src: str, base: Path = Path(".")) -> Scenario:
    if "grid" in data and "base" in data:
        raise ConfigError(
            f"{src}: a sweep file (it has base and [grid]), not a scenario: run it with "
            f"accelsim sweep {src}"
        )
    for key in data:
        if key not in _TOP:
            raise unknown(f"{src}:", key, _TOP)
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ConfigError(f"{src}: seed = {seed!r}: must be an integer >= 0 (below 2^63)")
    policy = data.get("policy", "lpt")
    if not isinstance(policy, str) or not policy.strip():
        raise ConfigError(f"{src}: policy = {policy!r}: must be a policy name")
    from accelsim.policies import check_name

    try:
        check_name(policy)
    except ConfigError as exc:
        raise ConfigError(f"{src}: policy = {policy!r}: {exc}") from None
    policy_options = _table(data, "policy_options", src)
    if policy_options:
        from accelsim.errors import PolicyError
        from accelsim.policies import load_policy

        try:
            load_policy(policy, policy_options)
        except PolicyError as exc:
            raise ConfigError(f"{src}: [policy_options]: {exc}") from None
    baselines = data.get("baselines", True)
    if not isinstance(baselines, bool):
        raise ConfigError(f"{src}: baselines = {baselines!r}: must be true or false")
    engine = data.get("engine", "auto")
    if engine not in ENGINES:
        raise ConfigError(f"{src}: engine = {engine!r}: must be one of {', '.join(ENGINES)}")

    workload = _table(data, "workload", src)
    for key in workload:
        if key not in _WORKLOAD:
            raise unknown(f"{src}: [workload]", key, _WORKLOAD)
    if "network" not in workload:
        raise ConfigError(f"{src}: [workload] network is missing (a shipped name or a CSV file)")
    _text(workload["network"], f"{src}: [workload] network", "a shipped name or a file's path")
    input_shape = _input_shape(workload, src)
    try:
        network = load_network(workload["network"], base, input_shape)
    except ConfigError as exc:
        raise ConfigError(f"{src}: [workload] network: {exc}") from None
    layers = None
    if "layers" in workload:
        layers = workload["layers"]
        macs = [l.name for l in network.mac_layers]
        if (
            not isinstance(layers, list)
            or not layers
            or any(not isinstance(n, str) for n in layers)
        ):
            raise ConfigError(
                f"{src}: [workload] layers = {layers!r}: must be a non-empty list "
                f"of MAC layers of {network.name} ({', '.join(macs[:6])}, ...)"
            )
        for name in layers:
            if name not in macs:
                from difflib import get_close_matches

                close = get_close_matches(name, macs, n=1)
                hint = (
                    f"did you mean {close[0]!r}?"
                    if close
                    else f"its MAC layers are {', '.join(macs[:6])}, ..."
                )
                raise ConfigError(
                    f"{src}: [workload] layers: {network.name} has no MAC layer {name!r}; {hint}"
                )
            if layers.count(name) > 1:
                raise ConfigError(
                    f"{src}: [workload] layers: {name!r} is listed twice (it "
                    f"would be simulated once)"
                )
        layers = tuple(layers)
    activation_density, activation_cv = _activations(workload, network, src, base)

    pruning = _pruning(_table(data, "pruning", src), src, base)
    if input_shape is not None:
        pruning = attrs.evolve(pruning, input_shape=input_shape)
    if isinstance(pruning.keep, dict):
        macs = [l.name for l in network.mac_layers]
        for layer in pruning.keep:
            if layer not in macs:
                from difflib import get_close_matches

                close = get_close_matches(layer, macs, n=1)
                raise ConfigError(
                    f"{src}: [pruning] keep.{layer}: {network.name} has no MAC "
                    f"layer {layer!r}" + (f"; did you mean {close[0]!r}?" if close else "")
                )
    if not network.mac_layers:
        raise ConfigError(
            f"{src}: [workload] network = {workload['network']!r}: has no conv "
            f"or fc layer to simulate"
        )
    mapping = _build(Mapping, _mapping_table(_table(data, "mapping", src), src), "mapping", src)
    if isinstance(mapping.weight_format, tuple):
        macs = [l.name for l in network.mac_layers]
        for key, _ in mapping.weight_format:
            if key != "default" and key not in macs:
                raise ConfigError(
                    f"{src}: [mapping] weight_format.{key}: no MAC layer of "
                    f"{network.name} is named {key!r} ({', '.join(macs[:6])}, "
                    f"...; or 'default')"
                )
    hardware = _build(Hardware, _table(data, "hardware", src), "hardware", src)
    energy = _build(EnergyTable, _table(data, "energy", src), "energy", src)
    area = _build(AreaTable, _table(data, "area", src), "area", src)
    reference = _reference(_table(data, "reference", src), hardware, src)
    _check_allotments(mapping, hardware, src)
    _check_effect(workload, _table(data, "hardware", src), hardware, src)
    if pruning.measured is not None:
        check_measured(pruning.measured, network, f"{src}: [pruning] measured")
    name = folder_name(data["name"], f"{src}:") if "name" in data else Path(src).stem
    return Scenario(
        name=name,
        source=src,
        network=network,
        pruning=pruning,
        mapping=mapping,
        hardware=hardware,
        energy=energy,
        area=area,
        policy=policy,
        seed=seed,
        policy_options=policy_options,
        activation_density=activation_density,
        activation_cv=activation_cv,
        baselines=baselines,
        layers=layers,
        engine=engine,
        reference=reference,
    )


def _reference(table: dict, hw: Hardware, src: str) -> Reference:
    """[reference]: the dense systolic array the report compares against; its iso-MAC
    shape, when given, must have the design's MAC lanes."""
    reference = _build(Reference, table, "reference", src)
    if reference.rows is not None and reference.rows * reference.cols != hw.lanes:
        raise ConfigError(
            f"{src}: [reference] rows x cols = {reference.rows} x {reference.cols} = "
            f"{reference.rows * reference.cols:,} MACs: the iso-MAC array needs the design's "
            f"{hw.lanes:,} MAC lanes (pe_rows x pe_cols x macs_per_cycle); change rows and "
            f"cols, or leave both out for the most square shape"
        )
    return reference


def _check_allotments(mapping: Mapping, hw: Hardware, src: str) -> None:
    """An allotment is part of a buffer: never more than the buffer, and only under the
    cycles objective (the mapper's energy scores would read the allotted sizes' SRAM energy,
    not the hardware's)."""
    for field, capacity in ALLOTMENTS:
        value = getattr(mapping, field)
        if value is None:
            continue
        if value > getattr(hw, capacity):
            raise ConfigError(
                f"{src}: [mapping] {field} = {value}: more than the hardware's "
                f"{capacity} ({getattr(hw, capacity):g}); an allotment is the part of the "
                f"buffer the layers use: at most the buffer, or leave it out for all of it"
            )
        if mapping.objective != "cycles":
            raise ConfigError(
                f"{src}: [mapping] {field} = {value} with objective = "
                f"{mapping.objective!r}: allotments are for the cycles objective only"
            )


_TILING = ("tile_h", "tile_w", "filters_per_job", "channel_splits")


def _mapping_table(table: dict, src: str) -> dict:
    """[mapping] with its mode made explicit: "auto" (the mapper chooses per layer) unless
    the table fixes one of the four tiling numbers; the numbers go with "fixed" only, the
    objective and budget with "auto" only."""
    given = [k for k in _TILING if k in table]
    mode = table.get("mode", "fixed" if given else "auto")
    if mode == "auto" and given:
        raise ConfigError(
            f"{src}: [mapping] {given[0]} = {table[given[0]]!r} has no effect "
            f'with mode = "auto" (the mapper chooses it per layer): remove it, '
            f'or set mode = "fixed"'
        )
    if mode == "fixed":
        for key in ("objective", "budget"):
            if key in table:
                raise ConfigError(
                    f"{src}: [mapping] {key} = {table[key]!r} has no effect with "
                    f'mode = "fixed" (it steers the mapper): remove it, or set '
                    f'mode = "auto"'
                )
    return {**table, "mode": mode}


def _input_shape(workload: dict, src: str) -> tuple[int, ...] | None:
    """[workload] input_shape: the dimensions an ONNX network's input leaves open."""
    if "input_shape" not in workload:
        return None
    shape = workload["input_shape"]
    if not str(workload["network"]).lower().endswith(".onnx"):
        raise ConfigError(
            f"{src}: [workload] input_shape = {shape!r} has no effect: network = "
            f"{workload['network']!r} is not an ONNX file"
        )
    if (
        not isinstance(shape, list)
        or len(shape) not in (1, 2, 3)
        or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 2**16 for d in shape)
    ):
        raise ConfigError(
            f"{src}: [workload] input_shape = {shape!r}: must be [C, H, W] (or [C, L] for "
            f"a sequence, [L] for a flat input): integers from 1 to 65,536"
        )
    return tuple(shape)


def _pruning(table: dict, src: str, base: Path) -> Pruning:
    for key in table:
        if key not in _PRUNING:
            raise unknown(f"{src}: [pruning]", key, _PRUNING)
    chosen = [k for k in ("dense", "profile", "density", "weights", "measured") if k in table]
    if len(chosen) != 1:
        raise ConfigError(
            f"{src}: [pruning] needs exactly one of dense = true, profile, "
            f"density (with cv), weights (with keep) or measured; got "
            f"{chosen or 'none'}"
        )
    how = chosen[0]
    allowed = {
        "dense": set(),
        "profile": set(),
        "density": {"cv"},
        "weights": {"keep", "method", "n", "m"},
        "measured": set(),
    }[how]
    ignored = sorted(set(table) - allowed - {how})
    if ignored:
        raise ConfigError(
            f"{src}: [pruning] {ignored[0]} = {table[ignored[0]]!r} has no "
            f"effect with {how}"
            + (f" (it goes with: {', '.join(sorted(allowed))})" if allowed else "")
        )
    if how == "dense":
        if table["dense"] is not True:
            raise ConfigError(
                f"{src}: [pruning] dense = {table['dense']!r}: only true is meaningful"
            )
        return Pruning(dense=True)
    if how in ("profile", "weights"):
        _text(table[how], f"{src}: [pruning] {how}", "a shipped name or a file's path")
    if how == "profile":
        try:
            return Pruning(profile=load_profile(table["profile"], base))
        except ConfigError as exc:
            raise ConfigError(f"{src}: [pruning] profile: {exc}") from None
    if how == "density":
        density = table["density"]
        if isinstance(density, (int, float)) and not isinstance(density, bool) and density == 0:
            raise ConfigError(
                f"{src}: [pruning] density = {density!r}: must be in (0, 1]: "
                f"with no weights left there is nothing to simulate"
            )
        profile = SparsityProfile.uniform(density, table.get("cv", FITTED_CV))
        try:
            profile.validate(f"{src}: [pruning]")
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("default_density", "density")) from None
        return Pruning(profile=profile)
    if how == "measured":
        name = table["measured"]
        if not isinstance(name, str):
            raise ConfigError(
                f"{src}: [pruning] measured = {name!r}: must be the name of a "
                f"shipped measured-mask file or a path"
            )
        path = (
            measured_path(name)
            if name in shipped_measured()
            else (Path(name) if Path(name).is_absolute() else base / name)
        )
        if not path.is_file():
            raise ConfigError(
                f"{src}: [pruning] measured = {name!r}: no such file; "
                f"{did_you_mean(name, shipped_measured())}shipped: "
                f"{', '.join(shipped_measured())}"
            )
        return Pruning(measured=path)
    if table["weights"] in shipped_weights():
        weights = weights_path(table["weights"])
    else:
        weights = Path(table["weights"])
        weights = weights if weights.is_absolute() else base / weights
    if not weights.is_file():
        raise ConfigError(
            f"{src}: [pruning] weights = {table['weights']!r}: no such file "
            f"(shipped: {', '.join(shipped_weights()) or 'none'})"
        )
    keep = table.get("keep", 1.0)
    if not isinstance(keep, (int, float, dict)) or isinstance(keep, bool):
        raise ConfigError(f"{src}: [pruning] keep = {keep!r}: a fraction, or a table of them")
    method = table.get("method", "layer")
    if method not in METHODS:
        raise ConfigError(
            f"{src}: [pruning] method = {method!r}: must be one of {', '.join(METHODS)}"
        )
    if method != "nm" and ("n" in table or "m" in table):
        key = "n" if "n" in table else "m"
        raise ConfigError(
            f"{src}: [pruning] {key} = {table[key]!r} has no effect with "
            f'method = {method!r} (only with method = "nm")'
        )
    n, m = table.get("n", 2), table.get("m", 4)
    if (
        not (isinstance(n, int) and isinstance(m, int) and 1 <= n <= m <= 256)
        or isinstance(n, bool)
        or isinstance(m, bool)
    ):
        raise ConfigError(
            f"{src}: [pruning] n = {n!r}, m = {m!r}: need integers 1 <= n <= m <= 256"
        )
    for layer, value in keep.items() if isinstance(keep, dict) else [("", keep)]:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            field = f"keep.{layer}" if layer else "keep"
            raise ConfigError(f"{src}: [pruning] {field} = {value!r}: must be a fraction in (0, 1]")
    return Pruning(weights=weights, keep=keep, method=method, n=n, m=m)
