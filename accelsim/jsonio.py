"""Strict JSON for every file accelsim writes: no NaN, no Infinity (which strict parsers
reject). A value that is unbounded or undefined (an infinite buffer or bandwidth of an
ideal-memory run, the latency of a sizing point that cannot run) is written as `null`;
numpy numbers and arrays as plain JSON numbers and lists."""

from __future__ import annotations

import json
import math

import numpy as np


def plain(obj):
    """`obj` with numpy values made Python values and non-finite floats made None."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return plain(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    return obj


def dumps(obj, **kwargs) -> str:
    """json.dumps of plain(obj); raises ValueError rather than write a non-finite number."""
    return json.dumps(plain(obj), allow_nan=False, **kwargs)
