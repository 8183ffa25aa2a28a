"""Errors a user can act on: each says where (file, field), the value, and the fix."""


class AccelsimError(Exception):
    """Base of every error accelsim raises on purpose."""


class ConfigError(AccelsimError, ValueError):
    """A scenario, topology, profile or hardware value is malformed or inconsistent."""


class PolicyError(AccelsimError):
    """A policy could not be loaded, or returned a plan that breaks the contract."""


class DeadlockError(AccelsimError):
    """The simulation stopped making progress; the message names the waiting components."""


def did_you_mean(name: str, known) -> str:
    """ "did you mean 'X'? " for the known name closest to a misspelt one, else ""."""
    from difflib import get_close_matches

    close = get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def unknown(where: str, key: str, known) -> ConfigError:
    """'WHERE unknown field KEY; did you mean X? (known: ...)': the error for a misspelt name."""
    known = sorted(known)
    hint = did_you_mean(key, known)
    return ConfigError(
        f"{where} unknown field {key!r}{'; ' + hint.rstrip() if hint else ''} "
        f"(known: {', '.join(known)})"
    )
