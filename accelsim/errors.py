"""Errors a user can act on: each says where (file, field), the value, and the fix."""


class AccelsimError(Exception):
    """Base of every error accelsim raises on purpose."""


class ConfigError(AccelsimError, ValueError):
    """A scenario, topology, profile or hardware value is malformed or inconsistent."""


class PolicyError(AccelsimError):
    """A policy could not be loaded, or returned a plan that breaks the contract."""


class DeadlockError(AccelsimError):
    """The simulation stopped making progress; the message names the waiting components."""
