"""Layers and networks as frozen values.

A `conv` layer has stride, symmetric padding and groups (depthwise: groups == in_channels).
An `fc` layer is a 1x1 conv on a 1x1 map whose in_c is the flattened feature count.
`pool`, `add` and `input` rows carry no MACs; they are kept so shapes can be checked.
"""

from __future__ import annotations

import enum

from attrs import field, frozen, validators as v


class LayerKind(enum.StrEnum):
    INPUT = "input"
    CONV = "conv"
    FC = "fc"
    POOL = "pool"
    ADD = "add"


MAC_KINDS = (LayerKind.CONV, LayerKind.FC)


def _dim(hi: int, lo: int = 1):
    """A layer dimension: an integer from lo to hi (limits that keep MAC counts in int64)."""
    def check(instance, attribute, value):
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{attribute.name} = {value!r}: must be an integer from {lo} to "
                             f"{hi:,}")
    return check


@frozen
class Layer:
    """One row of a topology. Shapes are (channels, height, width) at batch 1."""

    name: str = field(validator=v.min_len(1))
    kind: LayerKind = field(converter=LayerKind)
    sources: tuple[str, ...] = field(converter=tuple, default=())
    in_c: int = field(default=1, validator=_dim(2 ** 24))
    in_h: int = field(default=1, validator=_dim(2 ** 16))
    in_w: int = field(default=1, validator=_dim(2 ** 16))
    out_c: int = field(default=1, validator=_dim(2 ** 24))
    k_h: int = field(default=1, validator=_dim(2 ** 10))
    k_w: int = field(default=1, validator=_dim(2 ** 10))
    stride: int = field(default=1, validator=_dim(2 ** 10))
    pad: int = field(default=0, validator=_dim(2 ** 10, 0))
    groups: int = field(default=1, validator=_dim(2 ** 24))

    @property
    def out_h(self) -> int:
        return (self.in_h + 2 * self.pad - self.k_h) // self.stride + 1

    @property
    def out_w(self) -> int:
        return (self.in_w + 2 * self.pad - self.k_w) // self.stride + 1

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
