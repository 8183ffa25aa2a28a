"""Lower bounds of the hardware on a layer's cycles, whatever the plan, and the binding one.

- compute: the jobs on P identical PEs (LB0, LB1 or a proven optimum; accelsim.policies.schedule).
- memory: every block crosses the DRAM port at least once, with all its bytes (weights,
  inputs with their halo, outputs once written), on one port after at least one latency:
  `latency + ceil(bytes / bandwidth)`.
- interconnect: the dispatcher drives the interconnect one delivery at a time and every
  input block and every weight block crosses it at least once (once per job reading an
  input block without multicast): `ceil(bytes / bandwidth)`.
- lock-step (input_queue_depth = 1): a PE's queue slot is held until its job ends, so the
  delivery of its next job cannot overlap it; each job costs its cycles plus at least its
  own input tile's delivery time on its PE: `ceil(sum(cycles + delivery) / P)`.

Each holds for any plan, static or dynamic, so none can exceed a simulated layer (a property
test checks it). The largest is the layer's hardware bound and names what binds.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen

from accelsim.config import Hardware
from accelsim.units import ceil_div, exact_rate, transfer_cycles
from accelsim.workload.jobs import LayerJobs

KINDS = ("compute", "memory", "interconnect", "lock-step")


@frozen
class HardwareBounds:
    compute: int
    memory: int
    interconnect: int
    lock_step: int

    @property
    def values(self) -> dict[str, int]:
        return dict(zip(KINDS, (self.compute, self.memory, self.interconnect, self.lock_step)))

    @property
    def best(self) -> int:
        return max(self.values.values())

    @property
    def binding(self) -> str:
        """The kind of the largest bound (compute wins ties: it needs no hardware excuse)."""
        values = self.values
        return max(KINDS, key=lambda k: (values[k], -KINDS.index(k)))


def hardware_bounds(layer: LayerJobs, hw: Hardware, compute: int) -> HardwareBounds:
    """The four bounds of `layer` on `hw`; `compute` is the best bound on its jobs alone."""
    if not layer.n_jobs:
        return HardwareBounds(compute, 0, 0, 0)
    dram = exact_rate(hw.dram_bytes_per_cycle)
    once = int(layer.weight_bytes.sum() + layer.input_bytes.sum() + layer.output_write_bytes.sum())
    memory = hw.dram_latency_cycles + transfer_cycles(once, dram)
    noc = exact_rate(hw.noc_bytes_per_cycle)
    input_per_job = np.asarray(layer.input_bytes, dtype=np.int64)[layer.column("input_block")]
    inputs = int(layer.input_bytes.sum()) if hw.multicast else int(input_per_job.sum())
    interconnect = transfer_cycles(inputs + int(layer.weight_bytes.sum()), noc)
    lock_step = 0
    if hw.input_queue_depth == 1 and noc is not None:
        num, den = noc
        delivery = -((-input_per_job * den) // num)
        lock_step = ceil_div(int(layer.cycles.sum() + delivery.sum()), hw.n_pes)
    return HardwareBounds(compute, memory, interconnect, lock_step)
