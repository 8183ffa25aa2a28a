"""Pruned layers: exact nonzero counts per filter, and per (filter, input-channel chunk).

Two sources of masks:
- a seeded sparsity profile (per-layer density or exact nnz, plus a per-filter spread drawn
  from a Beta distribution with a given mean and coefficient of variation), and
- magnitude pruning of real weight arrays (keep the largest |w| of each layer).

Per-kernel counts (a filter on one input channel) are computed on demand, and per-chunk
counts are their sums: from the mask when there is one, otherwise by placing each filter's
nonzeros uniformly at random over its weights (multivariate hypergeometric), seeded by the
scenario so the same seed gives the same counts.
"""

from __future__ import annotations

import math
import tomllib
import zlib
from difflib import get_close_matches
from importlib import resources
from pathlib import Path

import attrs
import numpy as np
from attrs import field, frozen

from accelsim.errors import ConfigError, did_you_mean, unknown
from accelsim.files import read_npz, read_text
from accelsim.workload.networks.layers import Layer, Network
from accelsim.workload.sparsity.counts import WINDOW, spread_nnz, uniform_counts, window_counts
from accelsim.workload.sparsity.sparsity_model import FITTED_MODELS, POSITION_LIMIT


def _readonly(a) -> np.ndarray:
    a = np.array(a, dtype=np.int64)
    a.setflags(write=False)
    return a


def _array_field(**kw):
    return field(converter=_readonly, eq=attrs.cmp_using(eq=np.array_equal), **kw)


@frozen
class PrunedLayer:
    """A MAC layer with its nonzero counts. `compressed=False` is the dense design's format."""

    layer: Layer
    filter_nnz: np.ndarray = _array_field()
    seed: int = 0
    compressed: bool = True
    mask: np.ndarray | None = field(default=None, eq=False, repr=False)
    kernels: np.ndarray | None = field(default=None, eq=False, repr=False)
    windows: np.ndarray | None = field(default=None, eq=False, repr=False)
    placement: object = field(default=None, eq=False, repr=False)
    # the layer's input activations: mean fraction nonzero (ReLU zeros), and its spread
    # (coefficient of variation) over input tiles
    activation_density: float = 1.0
    activation_cv: float = 0.0
    # what is drawn or counted once and read by every mapping (the mapper asks dozens):
    # the modelled mask, the kernels' counts, each chunking's counts; read-only arrays
    _placed: dict = field(init=False, factory=dict, eq=False, repr=False)

    @filter_nnz.validator
    def _check(self, _attr, nnz):
        if nnz.shape != (self.layer.out_c,):
            raise ValueError(
                f"{self.layer.name}: filter_nnz has shape {nnz.shape}, "
                f"expected ({self.layer.out_c},)"
            )
        if nnz.min(initial=0) < 0 or nnz.max(initial=0) > self.layer.weights_per_filter:
            raise ValueError(
                f"{self.layer.name}: filter_nnz must lie in [0, {self.layer.weights_per_filter}]"
            )

    @property
    def nnz(self) -> int:
        return int(self.filter_nnz.sum())

    @property
    def density(self) -> float:
        return self.nnz / self.layer.weights

    @property
    def pruned_macs(self) -> int:
        return self.nnz * self.layer.out_pixels

    def chunk_bounds(self, k: int) -> np.ndarray:
        """Channel boundaries of k input-channel chunks: chunk c is [b[c], b[c+1])."""
        c = self.layer.channels_per_group
        if not 1 <= k <= c:
            raise ConfigError(
                f"layer {self.layer.name}: channel_splits = {k} must lie in "
                f"[1, {c}] (its filters see {c} input channels)"
            )
        return np.array([i * c // k for i in range(k + 1)], dtype=np.int64)

    def chunk_nnz(self, k: int) -> np.ndarray:
        """(out_c, k) nonzeros of each filter in each of k input-channel chunks; rows sum to
        filter_nnz exactly."""
        bounds = self.chunk_bounds(k)
        if k == 1:
            return self.filter_nnz.reshape(-1, 1).copy()
        if k == self.layer.channels_per_group:  # a chunk per channel: the kernels themselves
            return self.kernel_nnz()
        key = ("chunks", k)  # the mapper asks each chunking for dozens of candidates
        if key not in self._placed:
            counts = np.add.reduceat(self.kernel_nnz(), bounds[:-1], axis=1).astype(np.int64)
            self._placed[key] = _readonly(counts)
        return self._placed[key]

    def kernel_nnz(self) -> np.ndarray:
        """(out_c, channels) nonzeros of each kernel (a filter's weights on one input channel):
        measured (shipped counts or the mask), placed by the fitted sparsity model, or else
        placed uniformly at random over the filter's positions (one seeded draw, kept, so
        every chunking, PE model and the mapper's candidates see the same kernels)."""
        if self.kernels is not None:
            return self.kernels
        kernels = self._placed.get("kernels")
        if kernels is None:
            kernels = self._placed["kernels"] = self._draw_kernels()
            kernels.setflags(write=False)
        return kernels

    def _draw_kernels(self) -> np.ndarray:
        channels = self.layer.channels_per_group
        kernel = self.layer.k_h * self.layer.k_w
        mask = self.mask if self.mask is not None else self._modelled_mask()
        if mask is not None:
            return mask.reshape(self.layer.out_c, channels, -1).sum(axis=2).astype(np.int64)
        if channels == 1:
            return self.filter_nnz.reshape(-1, 1).astype(np.int64)
        if int(self.filter_nnz.min()) == self.layer.weights_per_filter:  # dense: no draw needed
            return np.full((self.layer.out_c, channels), kernel, dtype=np.int64)
        rng = np.random.default_rng([self.seed, channels, 1])
        return uniform_counts(self.filter_nnz, channels, kernel, rng)

    def _modelled_mask(self) -> np.ndarray | None:
        """The fitted model's placement of filter_nnz (seeded, drawn once), for layers of at
        most POSITION_LIMIT weights; None without a model."""
        if self.placement is None or self.layer.weights > POSITION_LIMIT:
            return None
        if "mask" not in self._placed:
            rng = np.random.default_rng([self.seed, 11])
            self._placed["mask"] = self.placement.place(
                self.filter_nnz,
                self.layer.channels_per_group,
                (self.layer.k_h, self.layer.k_w),
                rng,
            )
        return self._placed["mask"]

    def window_nnz(self, window: int = WINDOW) -> np.ndarray | None:
        """(out_c, in_c / groups, n_windows) nonzeros of each window x window piece of every
        kernel (row-major, edge pieces cut short): what a PE that skips all-zero windows
        needs. A kernel that fits one window is one window. None when kernels span several
        windows and neither a mask, shipped window counts nor the fitted model places them."""
        if self.layer.k_h <= window and self.layer.k_w <= window:
            return self.kernel_nnz()[:, :, None]
        mask = self.mask if self.mask is not None else self._modelled_mask()
        if mask is not None:
            return window_counts(
                mask.reshape(
                    self.layer.out_c, self.layer.channels_per_group, self.layer.k_h, self.layer.k_w
                ),
                window,
            )
        if self.windows is not None and window == WINDOW:
            return self.windows
        return None

    def dense(self) -> PrunedLayer:
        """The same layer with every weight kept and stored without indices."""
        full = np.full(self.layer.out_c, self.layer.weights_per_filter)
        return PrunedLayer(
            self.layer,
            full,
            self.seed,
            compressed=False,
            activation_density=self.activation_density,
            activation_cv=self.activation_cv,
        )

    def input_activation_density(self, tile_pixels) -> np.ndarray:
        """(n_tiles, in_c) fraction of nonzero inputs of each channel in each input tile of
        `tile_pixels[t]` input pixels: each (tile, channel) draws a density from a Beta
        distribution around the layer's mean with its coefficient of variation (capped as
        the per-filter spread is), then its count of nonzero pixels from a binomial of that
        density, so a one-pixel tile (a fully connected layer) has each input either zero or
        not. Seeded by the layer. Filters weigh channels differently, so each job's work
        then varies from tile to tile on its own. A cv of 0 draws nothing: every tile has
        the mean density exactly (the expected-value model)."""
        m, cv = self.activation_density, self.activation_cv
        pixels = np.maximum(1, np.asarray(tile_pixels, dtype=np.int64))[:, None]
        shape = (len(pixels), self.layer.in_c)
        if m >= 1 or cv == 0:
            return np.full(shape, float(m))
        rng = np.random.default_rng([self.seed, 0, 0])
        cv = min(cv, 0.95 * math.sqrt((1 - m) / m))
        nu = (1 - m) / (m * cv * cv) - 1
        density = rng.beta(m * nu, (1 - m) * nu, size=shape)
        return rng.binomial(np.broadcast_to(pixels, shape), density) / pixels


@frozen
class PrunedNetwork:
    network: Network
    layers: tuple[PrunedLayer, ...] = field(converter=tuple)
    description: str = ""

    @property
    def nnz(self) -> int:
        return sum(p.nnz for p in self.layers)

    @property
    def pruned_macs(self) -> int:
        return sum(p.pruned_macs for p in self.layers)

    @property
    def dense_macs(self) -> int:
        return sum(p.layer.dense_macs for p in self.layers)

    def dense(self) -> PrunedNetwork:
        return PrunedNetwork(self.network, [p.dense() for p in self.layers], "dense")

    def only(self, names) -> PrunedNetwork:
        """The named layers, in network order."""
        keep = set(names)
        return attrs.evolve(
            self,
            layers=[p for p in self.layers if p.layer.name in keep],
            description=f"{self.description}, {len(keep)} layers",
        )


def dense_network(network: Network) -> PrunedNetwork:
    """Every weight kept, stored densely: with nothing to skip there is nothing to index."""
    layers = [
        PrunedLayer(l, np.full(l.out_c, l.weights_per_filter), compressed=False)
        for l in network.mac_layers
    ]
    return PrunedNetwork(network, layers, "unpruned (dense)")


# --- seeded profiles -------------------------------------------------------------------------

MAX_CV = 100.0  # finite; above the spread cap at any density down to 1e-4 (docs/defaults.md)
FITTED_CV = "fitted"  # cv and placement from the model fitted to real masks (sparsity_model)


@frozen
class SparsityProfile:
    """Per-layer density (or exact nnz) and per-filter spread. Values are validated on load."""

    name: str
    density: dict[str, float] = field(factory=dict)
    nnz: dict[str, int] = field(factory=dict)
    cv: dict[str, float] = field(factory=dict)
    default_density: float | None = None
    default_cv: float | str = FITTED_CV
    source: str = ""
    network: str = ""  # the network it was written for, if the file says
    file: str = ""  # where it was read from, for errors that point at it
    # fraction of nonzero input activations per layer, where the source publishes it
    activation_density: dict[str, float] = field(factory=dict)

    @classmethod
    def uniform(cls, density: float, cv: float | str = FITTED_CV) -> SparsityProfile:
        return cls(
            name=f"uniform density {density}, cv {cv}", default_density=density, default_cv=cv
        )

    @classmethod
    def from_toml(cls, path: Path | str, text: str | None = None) -> SparsityProfile:
        """Read a profile file: keys `default_density`, `cv`, and tables [density], [nnz], [cv],
        [activation_density]."""
        src = str(path)
        if text is None:
            text = read_text(path, "profile")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{src}: cannot read profile: {exc}") from None
        known = {
            "name",
            "source",
            "network",
            "default_density",
            "cv",
            "density",
            "nnz",
            "activation_density",
        }
        for key in data:
            if key not in known:
                raise unknown(f"{src}:", key, known)
        cv_value = data.get("cv", FITTED_CV)
        per_layer_cv = cv_value if isinstance(cv_value, dict) else {}
        default_cv = cv_value.get("default", FITTED_CV) if isinstance(cv_value, dict) else cv_value
        for key in ("name", "source", "network"):
            if not isinstance(data.get(key, ""), str):
                raise ConfigError(f"{src}: {key} = {data[key]!r}: must be text")
        for table in ("density", "nnz", "activation_density"):
            if not isinstance(data.get(table, {}), dict):
                raise ConfigError(f"{src}: [{table}] must be a table of layer = value")
        profile = cls(
            name=data.get("name", Path(src).stem),
            density=data.get("density", {}),
            nnz=data.get("nnz", {}),
            cv={k: v for k, v in per_layer_cv.items() if k != "default"},
            default_density=data.get("default_density"),
            default_cv=default_cv,
            source=data.get("source", ""),
            network=str(data.get("network", "")),
            file=src,
            activation_density=data.get("activation_density", {}),
        )
        profile.validate(src)
        return profile

    def validate(self, src: str) -> None:
        for key, value in self.density.items():
            _check_number(src, f"density.{key}", value, 0.0, 1.0)
        for key, value in self.cv.items():
            _check_number(src, f"cv.{key}", value, 0.0, MAX_CV)
        for key, value in self.activation_density.items():
            _check_number(src, f"activation_density.{key}", value, 0.0, 1.0)
            if value == 0:
                raise ConfigError(
                    f"{src}: activation_density.{key} = 0: a layer with no "
                    f"nonzero input does no work; give a fraction > 0"
                )
        for key, value in self.nnz.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{src}: nnz.{key} = {value!r}: must be an integer >= 0")
        if self.default_density is not None:
            _check_number(src, "default_density", self.default_density, 0.0, 1.0)
        if not (isinstance(self.default_cv, str) and self.default_cv in FITTED_MODELS):
            if isinstance(self.default_cv, str):
                raise ConfigError(
                    f"{src}: cv = {self.default_cv!r}: must be a number in [0.0, {MAX_CV}] or "
                    f"one of {', '.join(repr(k) for k in FITTED_MODELS)}"
                )
            _check_number(src, "cv", self.default_cv, 0.0, MAX_CV)

    def target_nnz(self, layer: Layer, src: str) -> int:
        if layer.name in self.nnz:
            n = self.nnz[layer.name]
            if n > layer.weights:
                raise ConfigError(
                    f"{src}: nnz.{layer.name} = {n} exceeds the layer's {layer.weights} weights"
                )
            return n
        density = self.density.get(layer.name, self.default_density)
        if density is None:
            raise ConfigError(
                f"{src}: [density] has no value for layer {layer.name!r}: add it "
                f"or set default_density"
            )
        return round(density * layer.weights)


def _check_number(src, key, value, lo, hi):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise ConfigError(f"{src}: {key} = {value!r}: must be a number in [{lo}, {hi}]")


def shipped_profiles() -> list[str]:
    folder = resources.files("accelsim.workload") / "profiles"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def load_profile(name_or_path: str, base: Path | None = None) -> SparsityProfile:
    if name_or_path in shipped_profiles():
        res = resources.files("accelsim.workload") / "profiles" / f"{name_or_path}.toml"
        return SparsityProfile.from_toml(f"<shipped profile {name_or_path}>", res.read_text())
    path = Path(name_or_path)
    if base is not None and not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise ConfigError(
            f"profile {name_or_path!r} is neither shipped nor a file; "
            f"{did_you_mean(name_or_path, shipped_profiles())}shipped: "
            f"{', '.join(shipped_profiles())}"
        )
    return SparsityProfile.from_toml(path)


def prune_with_profile(
    network: Network, profile: SparsityProfile, seed: int, src: str = "profile"
) -> PrunedNetwork:
    """Exact per-filter nnz for every MAC layer: the layer total matches the profile exactly.
    With cv "fitted" the spread and the placement inside filters follow the model fitted to
    real masks (accelsim.workload.sparsity.sparsity_model); with a number, Beta(cv) and uniform."""
    if profile.file and profile.file != src:  # errors point at the profile, from the scenario
        src = f"{src}: profile {profile.file}"
    written_for = (
        f" (the profile is written for {profile.network})"
        if profile.network and profile.network != network.name
        else ""
    )
    macs = [l.name for l in network.mac_layers]
    for name in sorted({*profile.density, *profile.nnz, *profile.cv} - set(macs)):
        close = get_close_matches(name, macs, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f" (they are {', '.join(macs)})"
        raise ConfigError(
            f"{src}: layer {name!r} is not a MAC layer of {network.name}{written_for}{hint}"
        )
    layers = []
    for layer in network.mac_layers:
        try:
            target = profile.target_nnz(layer, src)
        except ConfigError as exc:
            raise ConfigError(f"{exc}{written_for}") from None
        cv = profile.cv.get(layer.name, profile.default_cv)
        placement = FITTED_MODELS.get(cv) if isinstance(cv, str) else None
        rng = np.random.default_rng([seed, _name_key(layer.name)])
        if placement is not None:
            nnz = placement.filter_nnz(target, layer.out_c, layer.weights_per_filter, rng)
        else:
            nnz = spread_nnz(target, layer.out_c, layer.weights_per_filter, cv, rng)
        layers.append(
            PrunedLayer(layer, nnz, seed=_layer_seed(seed, layer.name), placement=placement)
        )
    return PrunedNetwork(network, layers, f"profile {profile.name}, seed {seed}")


def _name_key(name: str) -> int:
    """A layer's draw depends on its name, not its position, so subsets keep their masks."""
    return zlib.crc32(name.encode())


def _layer_seed(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, _name_key(name), 7]).generate_state(1)[0])


# --- real weights: see methods.py for the pruning methods ------------------------------------


def weight_shape(layer: Layer) -> tuple[int, int, int, int]:
    return (layer.out_c, layer.channels_per_group, layer.k_h, layer.k_w)


def magnitude_mask(w: np.ndarray, n_keep: int) -> np.ndarray:
    """Boolean mask of the n_keep largest |w|; deterministic on ties (earlier index wins)."""
    flat = np.abs(w).ravel()
    n_keep = int(min(max(n_keep, 0), flat.size))
    if n_keep == 0:
        return np.zeros(w.shape, dtype=bool)
    # the n_keep-th largest value by partition (linear: a stable sort of AlexNet's fc6 took
    # seconds), then the earliest of the values equal to it, as the stable sort would
    threshold = np.partition(flat, flat.size - n_keep)[flat.size - n_keep]
    mask = flat > threshold
    ties = np.flatnonzero(flat == threshold)[: n_keep - int(mask.sum())]
    mask[ties] = True
    return mask.reshape(w.shape)


def shipped_weights() -> list[str]:
    """Names of the weight files shipped in the package (made by scripts in it)."""
    folder = resources.files("accelsim.workload") / "weights"
    if not folder.is_dir():
        return []
    return sorted(p.name.removesuffix(".npz") for p in folder.iterdir() if p.name.endswith(".npz"))


def weights_path(name: str) -> Path:
    return Path(str(resources.files("accelsim.workload") / "weights" / f"{name}.npz"))


def load_weights(path: Path, input_shape=None) -> dict[str, np.ndarray]:
    """Weights by layer name, from a .npz file or an ONNX model (whose open input
    dimensions `input_shape` fixes: BatchNorm folding follows the graph)."""
    if Path(path).suffix.lower() == ".onnx":
        from accelsim.workload.networks.onnx_import import load_onnx

        return load_onnx(path, input_shape)[1]
    return read_npz(path, "weights")
