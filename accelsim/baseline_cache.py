"""Baseline runs remembered across `accelsim run`s: the dense design and round-robin.

A user trying policy after policy on one scenario simulates the same two baselines every
time; their per-layer cycles (all a report needs of them) are stored in SQLite, keyed like
sweep points by a hash of everything the simulation depends on: the jobs it runs (their
cycles, blocks and block sizes, so whatever decided them, activation densities and the seed
included, is in the key without being listed), the hardware, and the source code of
accelsim itself, so an edited model never serves an old answer. The closed form and the
SimPy model give the same cycles, so the engine is not part of the key.

A stored row is never trusted blindly: it carries a digest of its key and value, and its
cycles must be one integer per layer of the jobs it is read for, each at least the layer's
compute bound; any other row is ignored (the caller simulates and overwrites it).

Where: $ACCELSIM_CACHE_DIR, else $XDG_CACHE_HOME/accelsim, else ~/.cache/accelsim.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import attrs
import numpy as np

from accelsim.config import Hardware
from accelsim.errors import ConfigError
from accelsim.units import ceil_div
from accelsim.workload.jobs import LayerJobs

_ARRAYS = (
    "cycles",
    "weight_bytes",
    "input_bytes",
    "input_unique_bytes",
    "input_extra_cause",
    "output_bytes",
    "output_write_bytes",
    "output_uses",
)
_COLUMNS = ("unit", "tile", "chunk", "weight_block", "input_block", "output_block")


def default_dir() -> Path:
    if os.environ.get("ACCELSIM_CACHE_DIR"):
        return Path(os.environ["ACCELSIM_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "accelsim"


@cache
def code_digest() -> str:
    """A hash of accelsim's own files: its source and the data it ships (topologies,
    profiles, weights, measured masks), so a changed model or shipped input is a new key."""
    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _config(kind: str, hw: Hardware, extra) -> hashlib._Hash:
    h = hashlib.sha256()
    h.update(
        json.dumps(
            {"kind": kind, "code": code_digest(), "hardware": attrs.asdict(hw), "extra": extra},
            sort_keys=True,
            default=str,
        ).encode()
    )
    return h


def jobs_key(kind: str, jobs: list[LayerJobs], hw: Hardware) -> str:
    """A key from the jobs themselves: their cycles, blocks and block sizes."""
    h = _config(kind, hw, [attrs.asdict(l.layer) for l in jobs])
    for layer in jobs:
        for name in _ARRAYS:
            h.update(np.ascontiguousarray(getattr(layer, name), dtype=np.int64).tobytes())
        for name in _COLUMNS:
            h.update(layer.column(name).tobytes())
    return h.hexdigest()


def plausible(cycles, jobs: list[LayerJobs], n_pes: int) -> bool:
    """Whether `cycles` can be the per-layer cycles of running `jobs` on `n_pes` PEs: one
    integer per layer, below 2**63, and no fewer than the layer's compute bound (its jobs'
    cycles spread evenly, and its longest job)."""
    if not isinstance(cycles, list) or len(cycles) != len(jobs):
        return False
    for c, layer in zip(cycles, jobs):
        if type(c) is not int or not 0 <= c < 2**63:
            return False
        longest = int(layer.cycles.max()) if layer.n_jobs else 0
        if c < max(ceil_div(layer.total_cycles, n_pes), longest):
            return False
    return True


def _digest(key: str, text: str) -> str:
    return hashlib.sha256(f"{key}\n{text}".encode()).hexdigest()


class BaselineCache:
    """Per-layer cycles of baseline runs, one row per key with a digest of key and value;
    each put commits."""

    def __init__(self, directory: Path | None = None):
        self.path = (default_dir() if directory is None else directory) / "baselines.sqlite"
        with self._failing("open"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path)
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS baselines_v2 "
                "(key TEXT PRIMARY KEY, cycles TEXT, digest TEXT)"
            )
            self._db.commit()

    def get(self, key: str, jobs: list[LayerJobs], n_pes: int) -> tuple[int, ...] | None:
        """The cycles stored for `key`, or None when there are none or they cannot be the
        cycles of `jobs` on `n_pes` PEs (a damaged or edited row is simulated again)."""
        with self._failing("read"):
            row = self._db.execute(
                "SELECT cycles, digest FROM baselines_v2 WHERE key = ?", (key,)
            ).fetchone()
        if row is None or not isinstance(row[0], str) or row[1] != _digest(key, row[0]):
            return None
        try:
            cycles = json.loads(row[0])
        except ValueError:
            return None
        return tuple(cycles) if plausible(cycles, jobs, n_pes) else None

    def put(self, key: str, cycles: tuple[int, ...]) -> None:
        text = json.dumps([int(c) for c in cycles])
        with self._failing("write"):
            self._db.execute(
                "INSERT OR REPLACE INTO baselines_v2 VALUES (?, ?, ?)",
                (key, text, _digest(key, text)),
            )
            self._db.commit()

    @contextmanager
    def _failing(self, what: str):
        """Any failure of the cache is one line naming the file and the way around it."""
        try:
            yield
        except (OSError, sqlite3.Error, ValueError, TypeError) as exc:
            raise ConfigError(
                f"baseline cache {self.path}: cannot {what}: {exc}; set "
                f"ACCELSIM_CACHE_DIR to a writable directory or pass "
                f"--no-cache"
            ) from None

    def close(self) -> None:
        self._db.close()
