"""Finding policies by name: the built-ins and the entry points of group `accelsim.policies`,
or a reference `package.module:Class`, with their options checked before anything runs."""

from __future__ import annotations

import importlib.util
import inspect
import math
from difflib import get_close_matches
from importlib.metadata import EntryPoint, entry_points

from accelsim.errors import ConfigError, PolicyError, did_you_mean
from accelsim.policies.classic import LPT, Greedy, RoundRobin, WorkStealing
from accelsim.policies.exact import Exact
from accelsim.policies.hardware_aware import HardwareAware
from accelsim.policies.heuristics import (
    DensityGrouping,
    Improved,
    KarmarkarKarp,
    Multifit,
    Portfolio,
)
from accelsim.policies.problem import Policy

GROUP = "accelsim.policies"
BUILTIN = (
    RoundRobin,
    LPT,
    Greedy,
    WorkStealing,
    Multifit,
    KarmarkarKarp,
    DensityGrouping,
    Portfolio,
    Exact,
    HardwareAware,
)


def _builtin() -> dict[str, str]:
    return {cls.name: f"{cls.__module__}:{cls.__qualname__}" for cls in BUILTIN}


def available() -> dict[str, EntryPoint]:
    """Every policy name: built-ins and entry points of group accelsim.policies, sorted."""
    found = {name: EntryPoint(name, ref, GROUP) for name, ref in _builtin().items()}
    for ep in entry_points(group=GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            raise PolicyError(
                f"policy name {ep.name!r} is registered twice: "
                f"{found[ep.name].value} and {ep.value}"
            )
        found[ep.name] = ep
    return dict(sorted(found.items()))


def missing_extra(name: str) -> str | None:
    """The pip requirement a policy needs and is not installed (e.g. "accelsim[exact]"), from
    its class's `requires = (module, requirement)`; None when nothing is missing."""
    name = name.removesuffix("+improve")
    ep = available().get(name) if ":" not in name else EntryPoint(name, name, GROUP)
    try:
        requires = getattr(ep.load(), "requires", None) if ep else None
    except Exception:  # a broken plugin: load_policy names the failure when used
        return None
    if requires and importlib.util.find_spec(requires[0]) is None:
        return requires[1]
    return None


def check_name(name: str) -> None:
    """ConfigError unless `name` (NAME, NAME+improve or package.module:Class) can be loaded
    by name: a built-in or registered name, or a reference with a module and a class."""
    base = name.removesuffix("+improve")
    if ":" in base:
        module, _, attr = base.partition(":")
        if not module or not attr:
            raise ConfigError("a reference must be 'package.module:Class'")
        return
    if base not in available():
        raise ConfigError(_unknown(base))


def _unknown(name: str) -> str:
    """'unknown policy NAME; did you mean X? known: ...'"""
    known = available()
    hint = did_you_mean(name, [*known, *(f"{k}+improve" for k in known)])
    return (
        f"unknown policy {name!r}; {hint}known: {', '.join(known)} (or "
        f"'package.module:Class', or NAME+improve)"
    )


def load_policy(name: str, options: dict | None = None) -> Policy:
    """A policy instance by registered name or by 'package.module:Class' reference;
    'NAME+improve' passes a static policy's plans through the improvement step. `options`
    are keyword arguments of the policy's constructor (e.g. hardware-aware's `evaluations`,
    exact's `time_limit_s`), checked by `check_options`."""
    if name.endswith("+improve"):
        return Improved(load_policy(name.removesuffix("+improve"), options))
    if ":" in name:
        ep = EntryPoint(name, name, GROUP)
    else:
        known = available()
        if name not in known:
            raise PolicyError(_unknown(name))
        ep = known[name]
    try:
        obj = ep.load()
    except Exception as exc:  # any import failure is the plugin's, named as such
        raise PolicyError(
            f"cannot load policy {name!r} ({ep.value}): {type(exc).__name__}: {exc}"
        ) from exc
    if options:
        check_options(name, obj, options)
    try:
        policy = obj(**(options or {})) if isinstance(obj, type) else obj
    except Exception as exc:
        raise PolicyError(f"cannot create policy {name!r} ({ep.value}): {exc}") from exc
    if not callable(getattr(policy, "plan", None)):
        raise PolicyError(f"policy {name!r} ({ep.value}) has no plan(problem) method")
    if not isinstance(getattr(policy, "name", None), str):
        raise PolicyError(f"policy {name!r} ({ep.value}) has no string attribute 'name'")
    return policy


def check_options(name: str, cls, options: dict) -> None:
    """Each option must be a parameter of the policy's constructor, of its default's type
    (integers and numbers at least 0, finite), and at most the class's `option_limits` entry
    for it, if any (a budget that would run for days is a typo); PolicyError names the option
    and value."""
    try:
        params = dict(inspect.signature(cls).parameters) if isinstance(cls, type) else {}
    except (TypeError, ValueError):
        params = {}
    params = {
        k: p for k, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }
    for key, value in options.items():
        if key not in params:
            close = get_close_matches(key, params, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            known = ", ".join(params) or "none"
            raise PolicyError(f"policy {name!r} has no option {key!r}{hint} (options: {known})")
        default = params[key].default
        if isinstance(default, bool):
            ok, want = isinstance(value, bool), "true or false"
        elif isinstance(default, int):
            ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
            want = "an integer >= 0"
        elif isinstance(default, float):
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and value >= 0
            )
            want = "a finite number >= 0"
        else:
            ok, want = True, ""
        if not ok:
            raise PolicyError(f"policy {name!r}: option {key} = {value!r}: must be {want}")
        limit = getattr(cls, "option_limits", {}).get(key)
        if limit is not None and value > limit:
            raise PolicyError(
                f"policy {name!r}: option {key} = {value!r}: must be at most {limit:,}"
            )
