"""The DRAM port."""

from __future__ import annotations

from collections.abc import Callable

import simpy
from simpy.events import Timeout

from accelsim.engine.hw.clock import Clock
from accelsim.trace import Cause, Operand, TransferLog
from accelsim.units import exact_rate, transfer_cycles


class DramPort:
    """One port: a transfer waits its latency, then holds the port ceil(bytes / bandwidth)
    cycles; concurrent transfers queue first come, first served.

    Service is FIFO and non-preemptive and every duration is known when a transfer is issued,
    so the queue is computed in closed form: each transfer costs one entry on the event
    queue (a Timeout, or a bare callback for a write-back: Clock.call_in), with the same
    timing as a Resource(capacity=1) held through `with` (measured in benchmarks/).
    """

    def __init__(self, env: Clock, bytes_per_cycle: float, latency_cycles: int, log: TransferLog):
        self.env = env
        self._rate = exact_rate(bytes_per_cycle)
        self._latency = latency_cycles
        self._log = log
        self._free_at = 0
        self.layer = 0

    def transfer(
        self,
        operand: Operand,
        nbytes: int,
        cause: Cause,
        extra_bytes: int = 0,
        extra_cause: Cause = Cause.HALO,
    ) -> simpy.Event:
        """Move `nbytes`, then `extra_bytes`, back to back in one transfer; the event fires
        when the last byte has crossed the port. Each part is logged with its own cause and
        share of port time (an empty part is not logged)."""
        return Timeout(
            self.env, self.transfer_then(None, operand, nbytes, cause, extra_bytes, extra_cause)
        )

    def transfer_then(
        self,
        callback: Callable[[], None] | None,
        operand: Operand,
        nbytes: int,
        cause: Cause,
        extra_bytes: int = 0,
        extra_cause: Cause = Cause.HALO,
    ) -> int:
        """`transfer` without an event, for a transfer nobody waits on: `callback()` (if
        any) runs when it ends. Returns the cycles from now until then."""
        now = self.env._now
        t = now + self._latency
        if t < self._free_at:
            t = self._free_at
        if nbytes:
            end = t + transfer_cycles(nbytes, self._rate)
            self._log.record(t, end, nbytes, operand, cause, self.layer)
            t = end
        if extra_bytes:
            end = t + transfer_cycles(extra_bytes, self._rate)
            self._log.record(t, end, extra_bytes, operand, extra_cause, self.layer)
            t = end
        self._free_at = t
        if callback is not None:
            self.env.call_in(t - now, callback)
        return t - now
