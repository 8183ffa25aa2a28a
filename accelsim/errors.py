"""Errors a user can act on: each says where (file, field), the value, and the fix."""


class AccelsimError(Exception):
    """Base of every error accelsim raises on purpose."""


class ConfigError(AccelsimError, ValueError):
    """A scenario, topology, profile or hardware value is malformed or inconsistent."""


class PolicyError(AccelsimError):
    """A policy could not be loaded, or returned a plan that breaks the contract."""


class DeadlockError(AccelsimError):
    """The simulation stopped making progress; the message names the waiting components."""


def unknown(where: str, key: str, known) -> ConfigError:
    """'WHERE unknown field KEY; did you mean X? known: ...': the error for a misspelt name."""
    from difflib import get_close_matches
    known = sorted(known)
    close = get_close_matches(str(key), known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(f"{where} unknown field {key!r}{hint} (known: {', '.join(known)})")
