"""The interconnect from the global buffers to the PEs."""

from __future__ import annotations

from accelsim.units import exact_rate, transfer_cycles


class Interconnect:
    """A shared bus of `bytes_per_cycle`. With multicast, one input tile sent to several PEs
    crosses it once; without, once per PE. Only the dispatcher drives it, one delivery at a
    time, so it needs no queue of its own."""

    def __init__(self, bytes_per_cycle: float, multicast: bool):
        self._rate = exact_rate(bytes_per_cycle)
        self.multicast = multicast
        self.bytes = 0

    def delivery_cycles(self, input_bytes: int, n_dest: int, weight_bytes: int) -> int:
        nbytes = input_bytes * (1 if self.multicast else n_dest) + weight_bytes
        self.bytes += nbytes
        return transfer_cycles(nbytes, self._rate)
