"""Lower bounds of the hardware on a layer's cycles, whatever the plan, and the binding one.

- compute: the jobs on P identical PEs (LB0, LB1 or a proven optimum; accelsim.policies.schedule).
- memory: every block crosses the DRAM port at least once, with all its bytes (weights,
  inputs with their halo, outputs once written), plus the refetch and spill bytes that
  buffers of these capacities cannot avoid in the order the layer used them
  (accelsim.engine.reload_bound), on one port after at least one latency:
  `latency + ceil(bytes / bandwidth)`.
- interconnect: the dispatcher drives the interconnect one delivery at a time and every
  input block and every weight block crosses it at least once (once per job reading an
  input block without multicast): `ceil(bytes / bandwidth)`.
- lock-step (input_queue_depth = 1): a PE's queue slot is held until its job ends, so the
  delivery of its next job cannot overlap it; each job costs its cycles plus at least its
  own input tile's delivery time on its PE: `ceil(sum(cycles + delivery) / P)`.

Compute, interconnect and lock-step hold for any plan, static or dynamic; memory holds for
any plan that fetches in the same order (the order of the run's deliveries, and for the
spills each PE's queue), whichever blocks the loader evicts or the output buffer spills. So
none can exceed a simulated layer (property tests check it). The largest is the layer's
hardware bound and names what binds.
"""

from __future__ import annotations

import numpy as np
from attrs import frozen

from accelsim.config import Hardware
from accelsim.engine.reload_bound import reload_bytes_bound, spill_bytes_bound
from accelsim.units import ceil_div, exact_rate, transfer_cycles
from accelsim.workload.jobs import LayerJobs

KINDS = ("compute", "memory", "interconnect", "lock-step")


@frozen
class FetchOrder:
    """The order a layer used its buffers in: for each weight and input buffer, pairs
    (delivery index, block) of every block a delivery needed; for a static plan each PE's
    queue of jobs and the broadcast that delivers each job (None for a dynamic plan, whose
    queues are decided at run time)."""

    weight_use: np.ndarray
    weight_block: np.ndarray
    input_use: np.ndarray
    input_block: np.ndarray
    queues: tuple[tuple[int, ...], ...] | None = None
    job_delivery: np.ndarray | None = None

    @classmethod
    def from_deliveries(
        cls, delivery: np.ndarray, job: np.ndarray, layer: LayerJobs, queues=None
    ) -> FetchOrder:
        """Member m of delivery `delivery[m]` runs job `job[m]` (a static plan's broadcasts)."""
        job_delivery = np.zeros(layer.n_jobs, dtype=np.int64)
        job_delivery[job] = delivery
        return cls(
            delivery,
            layer.column("weight_block")[job],
            delivery,
            layer.column("input_block")[job],
            queues,
            job_delivery,
        )

    @classmethod
    def from_sequences(cls, weights: list[list[int]], inputs: list[list[int]]) -> FetchOrder:
        """The blocks of each delivery, per buffer, as the loader fetched them (a dynamic
        plan's: its queues are decided at run time)."""

        def flat(sequence):
            use = np.repeat(np.arange(len(sequence), dtype=np.int64), list(map(len, sequence)))
            return use, np.fromiter(
                (b for blocks in sequence for b in blocks), dtype=np.int64, count=len(use)
            )

        weight_use, weight_block = flat(weights)
        input_use, input_block = flat(inputs)
        return cls(weight_use, weight_block, input_use, input_block)


@frozen
class HardwareBounds:
    compute: int
    memory: int
    interconnect: int
    lock_step: int
    # bytes in the memory bound beyond each block once: refetch (weight and input buffers)
    # and spill (out and back) that no loader can avoid for the run's order
    refetch_bytes: int = 0
    spill_bytes: int = 0

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


def hardware_bounds(
    layer: LayerJobs, hw: Hardware, compute: int, order: FetchOrder | None = None
) -> HardwareBounds:
    """The four bounds of `layer` on `hw`; `compute` is the best bound on its jobs alone;
    `order`, the order the layer used its buffers in (None: count each block once only)."""
    if not layer.n_jobs:
        return HardwareBounds(compute, 0, 0, 0)
    dram = exact_rate(hw.dram_bytes_per_cycle)
    once = int(layer.weight_bytes.sum() + layer.input_bytes.sum() + layer.output_write_bytes.sum())
    refetch = spill = 0
    if order is not None:
        refetch = reload_bytes_bound(
            order.weight_use, order.weight_block, layer.weight_bytes, hw.weight_buffer_bytes
        ) + reload_bytes_bound(
            order.input_use, order.input_block, layer.input_bytes, hw.input_buffer_bytes
        )
        if order.queues is not None and order.job_delivery is not None:
            spill = spill_bytes_bound(
                order.queues,
                order.job_delivery,
                layer.column("output_block"),
                layer.output_bytes,
                hw.output_buffer_bytes,
                hw.input_queue_depth,
            )
    memory = hw.dram_latency_cycles + transfer_cycles(once + refetch + spill, dram)
    noc = exact_rate(hw.noc_bytes_per_cycle)
    input_per_job = np.asarray(layer.input_bytes, dtype=np.int64)[layer.column("input_block")]
    inputs = int(layer.input_bytes.sum()) if hw.multicast else int(input_per_job.sum())
    interconnect = transfer_cycles(inputs + int(layer.weight_bytes.sum()), noc)
    lock_step = 0
    if hw.input_queue_depth == 1 and noc is not None:
        num, den = noc
        delivery = -((-input_per_job * den) // num)
        lock_step = ceil_div(int(layer.cycles.sum() + delivery.sum()), hw.n_pes)
    return HardwareBounds(compute, memory, interconnect, lock_step, refetch, spill)
