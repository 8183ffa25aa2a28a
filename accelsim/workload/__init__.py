"""Workloads: layers, networks, pruning and jobs. No SimPy here."""

from accelsim.workload.layers import Layer, LayerKind, Network
from accelsim.workload.topology import load_network, read_topology, write_topology, shipped_networks

__all__ = ["Layer", "LayerKind", "Network", "load_network", "read_topology", "write_topology",
           "shipped_networks"]
