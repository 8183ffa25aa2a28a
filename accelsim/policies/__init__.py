"""Scheduling policies behind one small protocol.

A policy turns a layer's jobs into a `Plan`: either one ordered job list per PE (static, planned
offline from known nnz) or one central order whose jobs the hardware hands to whichever PE
frees a queue slot first (dynamic: decided at run time, from nothing the hardware could not
know). Policies are found by name among the entry points of group `accelsim.policies`
(the built-in ones are registered there too), or by reference `package.module:Class`.

Owns the problem and plan (`problem`), the registry (`registry`), the policies (`classic`,
`heuristics`, `exact`, `hardware_aware`), their building blocks (`partition`, `rounds`) and
plans of bare durations with their bounds (`schedule`). May import: the foundation modules
and `accelsim.workload`. A policy that simulates plans calls `Problem.evaluate`, which the
engine provides; it never imports the engine.
"""

from accelsim.policies.problem import (
    Evaluator,
    Plan,
    Policy,
    Problem,
    by_size,
    mapping_policy,
    plan_layer,
    plan_units,
)
from accelsim.policies.registry import (
    GROUP,
    available,
    check_name,
    check_options,
    load_policy,
    missing_extra,
)

__all__ = [
    "GROUP",
    "Evaluator",
    "Plan",
    "Policy",
    "Problem",
    "available",
    "by_size",
    "check_name",
    "check_options",
    "load_policy",
    "mapping_policy",
    "missing_extra",
    "plan_layer",
    "plan_units",
]
