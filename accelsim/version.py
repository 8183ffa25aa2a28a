"""The installed accelsim's version, for the records a run writes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("accelsim")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+source"
