"""Layers and networks as frozen values.

A `conv` layer has a stride and a dilation per axis (height, width), padding per side (top,
bottom, left, right) and groups (depthwise: groups == in_channels). A single number for a
stride, dilation or pad means the same on every axis or side; text-recognition backbones
stride (2, 1) and exporters pad asymmetrically, so the layer keeps each one.
An `fc` layer is a 1x1 conv on a 1x1 map whose in_c is the flattened feature count.
`pool`, `add` and `input` rows carry no MACs; they are kept so shapes can be checked.
"""

from __future__ import annotations

import enum
import re

from attrs import field, frozen
from attrs import validators as v

from accelsim.errors import ConfigError

# Limits of one MAC layer that keep its per-kernel arrays in memory (a few int32/float
# arrays of this many entries) and every count derived from its MACs far inside int64.
# VGG-16's fc6 has 102,760,448 kernels, its largest conv 1.85e9 MACs.
MAX_CHANNELS = 2**24
MAX_SIDE = 2**16  # rows or columns of a feature map
MAX_KERNELS = 2**27
MAX_LAYER_MACS = 2**48


class LayerKind(enum.StrEnum):
    INPUT = "input"
    CONV = "conv"
    FC = "fc"
    POOL = "pool"
    ADD = "add"


MAC_KINDS = (LayerKind.CONV, LayerKind.FC)


_INTEGER = re.compile(r"[+-]?[0-9]+")


def cell_int(text: str) -> int:
    """An integer cell of a CSV file: ASCII digits with an optional sign. Python's int()
    also reads '1_000' and other scripts' digits, which a topology cell never means."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"not an integer: {text!r}")
    return int(text)


def _dim(hi: int, lo: int = 1):
    """A layer dimension: an integer from lo to hi (limits that keep MAC counts in int64)."""

    def check(instance, attribute, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(
                f"{attribute.name} = {value!r}: must be an integer from {lo} to {hi:,}"
            )

    return check


def _repeat(n: int):
    """A converter: one number stands for all n (every axis or side); a sequence is kept."""

    def convert(value):
        if isinstance(value, (tuple, list)):
            return tuple(value)
        return (value,) * n

    return convert


def _dims(n: int, hi: int, lo: int = 1):
    """A tuple of n layer dimensions, each an integer from lo to hi."""

    def check(instance, attribute, value):
        if len(value) != n:
            raise ValueError(f"{attribute.name} = {value!r}: must be one integer or {n}")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int) or not lo <= item <= hi:
                raise ValueError(
                    f"{attribute.name} = {_short(value)!r}: must be integers from {lo} to {hi:,}"
                )

    return check


def _short(value: tuple):
    """One number where all are the same, as a file with one column gave it."""
    return value[0] if len(set(value)) == 1 else value


@frozen
class Layer:
    """One row of a topology. Shapes are (channels, height, width) at batch 1."""

    name: str = field(validator=v.min_len(1))
    kind: LayerKind = field(converter=LayerKind)
    sources: tuple[str, ...] = field(converter=tuple, default=())
    in_c: int = field(default=1, validator=_dim(MAX_CHANNELS))
    in_h: int = field(default=1, validator=_dim(MAX_SIDE))
    in_w: int = field(default=1, validator=_dim(MAX_SIDE))
    out_c: int = field(default=1, validator=_dim(MAX_CHANNELS))
    k_h: int = field(default=1, validator=_dim(2**10))
    k_w: int = field(default=1, validator=_dim(2**10))
    stride: tuple[int, int] = field(default=1, converter=_repeat(2), validator=_dims(2, 2**10))
    pad: tuple[int, int, int, int] = field(
        default=0, converter=_repeat(4), validator=_dims(4, 2**10, 0)
    )
    groups: int = field(default=1, validator=_dim(2**24))
    dilation: tuple[int, int] = field(
        default=1, converter=_repeat(2), validator=_dims(2, 2**10), kw_only=True
    )

    @property
    def stride_h(self) -> int:
        return self.stride[0]

    @property
    def stride_w(self) -> int:
        return self.stride[1]

    @property
    def pad_h(self) -> tuple[int, int]:
        """(top, bottom) zero rows."""
        return self.pad[0], self.pad[1]

    @property
    def pad_w(self) -> tuple[int, int]:
        """(left, right) zero columns."""
        return self.pad[2], self.pad[3]

    @property
    def extent_h(self) -> int:
        """Input rows one output pixel's window spans: a dilated kernel skips rows between
        its taps, so it reaches dilation * (k - 1) + 1 rows with k_h taps."""
        return self.dilation[0] * (self.k_h - 1) + 1

    @property
    def extent_w(self) -> int:
        return self.dilation[1] * (self.k_w - 1) + 1

    @property
    def uniform(self) -> bool:
        """One stride, one pad and no dilation: what a file with single stride and pad
        columns (the older topology CSV, SCALE-Sim) can hold."""
        return len(set(self.stride)) == 1 and len(set(self.pad)) == 1 and self.dilation == (1, 1)

    @property
    def out_h(self) -> int:
        return (self.in_h + sum(self.pad_h) - self.extent_h) // self.stride_h + 1

    @property
    def out_w(self) -> int:
        return (self.in_w + sum(self.pad_w) - self.extent_w) // self.stride_w + 1

    @property
    def out_shape(self) -> tuple[int, int, int]:
        if self.kind in (LayerKind.INPUT, LayerKind.ADD):
            return (self.in_c, self.in_h, self.in_w)
        return (self.out_c, self.out_h, self.out_w)

    @property
    def has_macs(self) -> bool:
        return self.kind in MAC_KINDS

    @property
    def channels_per_group(self) -> int:
        """Input channels one filter sees."""
        return self.in_c // self.groups

    @property
    def filters_per_group(self) -> int:
        return self.out_c // self.groups

    @property
    def weights_per_filter(self) -> int:
        return self.channels_per_group * self.k_h * self.k_w

    @property
    def weights(self) -> int:
        """Dense weight count, biases excluded; zero for layers without MACs."""
        return self.out_c * self.weights_per_filter if self.has_macs else 0

    @property
    def out_pixels(self) -> int:
        return self.out_h * self.out_w

    @property
    def dense_macs(self) -> int:
        """out_h * out_w * out_c * k_h * k_w * in_c / groups (DESIGN.md)."""
        return self.weights * self.out_pixels


@frozen
class Network:
    """An ordered list of layers; `mac_layers` are the ones the accelerator runs."""

    name: str
    layers: tuple[Layer, ...] = field(converter=tuple)

    @property
    def mac_layers(self) -> tuple[Layer, ...]:
        return tuple(layer for layer in self.layers if layer.has_macs)

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def dense_macs(self) -> int:
        return sum(layer.dense_macs for layer in self.layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(name)


def check_shapes(network: Network, source: str) -> None:
    """Each layer's input shape must be what its sources produce; names must be unique."""
    produced: dict[str, tuple[int, int, int]] = {}
    for layer in network.layers:
        where = f"{source}: layer {layer.name}"
        if layer.name in produced:
            raise ConfigError(f"{where}: duplicate layer name")
        for src in layer.sources:
            if src not in produced:
                raise ConfigError(f"{where}: source {src!r} is not an earlier layer")
        shapes = [produced[s] for s in layer.sources]
        expected = (layer.in_c, layer.in_h, layer.in_w)
        if layer.kind is LayerKind.FC and (layer.in_h, layer.in_w) != (1, 1):
            raise ConfigError(
                f"{where}: in_h = {layer.in_h}, in_w = {layer.in_w}: an fc layer reads its "
                f"in_c features as a 1x1 map (in_c = channels x height x width)"
            )
        if layer.kind is LayerKind.FC and shapes:  # no sources: fed from outside, as given
            c, h, w = shapes[0]
            if (c * h * w, 1, 1) != expected:
                raise ConfigError(
                    f"{where}: in_c = {layer.in_c} (in_h={layer.in_h}, "
                    f"in_w={layer.in_w}), but {layer.sources[0]} gives "
                    f"{c}x{h}x{w} = {c * h * w} features on a 1x1 map"
                )
        elif layer.kind is LayerKind.ADD:
            if len(shapes) < 2 or any(s != expected for s in shapes):
                raise ConfigError(
                    f"{where}: add needs two or more sources of shape {expected}; "
                    f"got {dict(zip(layer.sources, shapes))}"
                )
        elif shapes and shapes[0] != expected:
            raise ConfigError(
                f"{where}: input shape (in_c, in_h, in_w) = {expected}, but "
                f"{layer.sources[0]} produces {shapes[0]}"
            )
        if layer.kind is LayerKind.CONV:
            if layer.in_c % layer.groups or layer.out_c % layer.groups:
                raise ConfigError(
                    f"{where}: groups = {layer.groups} must divide in_c = "
                    f"{layer.in_c} and out_c = {layer.out_c}"
                )
        if layer.kind is LayerKind.POOL and layer.out_c != layer.in_c:
            raise ConfigError(
                f"{where}: a pool keeps channels: out_c = {layer.out_c}, in_c = {layer.in_c}"
            )
        if layer.kind in (LayerKind.CONV, LayerKind.POOL) and (layer.out_h < 1 or layer.out_w < 1):
            dilated = f" dilated {_short(layer.dilation)}" if layer.dilation != (1, 1) else ""
            raise ConfigError(
                f"{where}: kernel {layer.k_h}x{layer.k_w}{dilated} with pad "
                f"{_short(layer.pad)} does not fit a {layer.in_h}x{layer.in_w} input"
            )
        if layer.has_macs:
            kernels = layer.out_c * layer.channels_per_group
            if kernels > MAX_KERNELS:
                raise ConfigError(
                    f"{where}: out_c = {layer.out_c:,} filters x {layer.channels_per_group:,} "
                    f"input channels = {kernels:,} kernels, more than the {MAX_KERNELS:,} "
                    f"a layer may have (each kernel's nonzero count is held in memory)"
                )
            if layer.dense_macs > MAX_LAYER_MACS:
                raise ConfigError(
                    f"{where}: {layer.dense_macs:,} MACs, more than the {MAX_LAYER_MACS:,} "
                    f"a layer may have: check its shape (in {layer.in_c}x{layer.in_h}x"
                    f"{layer.in_w}, out_c {layer.out_c}, kernel {layer.k_h}x{layer.k_w})"
                )
        if layer.kind is LayerKind.FC and (
            layer.k_h,
            layer.k_w,
            layer.stride,
            layer.pad,
            layer.dilation,
            layer.groups,
        ) != (1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1):
            raise ConfigError(
                f"{where}: an fc layer has k_h = k_w = stride = dilation = groups = 1, pad = 0"
            )
        produced[layer.name] = layer.out_shape
