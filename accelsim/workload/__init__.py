"""Workloads, lowest first: networks (`networks/`), which of their weights are nonzero
(`sparsity/`), and the jobs a mapping cuts a pruned layer into (`jobs`, with the weight
storage formats of `formats` and the PE models' lane slots of `pe_models`). No SimPy here.

May import: the foundation modules (errors, units, config, files, trace) only; inside,
`networks` < `sparsity` < `jobs`, `formats`, `pe_models`.
"""

from accelsim.workload.networks.layers import Layer, LayerKind, Network
from accelsim.workload.networks.topology import (
    load_network,
    read_topology,
    shipped_networks,
    write_topology,
)

__all__ = [
    "Layer",
    "LayerKind",
    "Network",
    "load_network",
    "read_topology",
    "write_topology",
    "shipped_networks",
]
