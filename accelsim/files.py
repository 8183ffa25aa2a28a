"""Reading a user's file: an unreadable file, a directory or bytes that are not UTF-8 are
one ConfigError naming the file, not a traceback. Every input file is read through
`read_bytes`, so `recording()` can list the digest of each file a computation read: a
sweep point's key hashes them, and editing any of them gives the point a new key."""

from __future__ import annotations

import contextvars
import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from accelsim.errors import ConfigError

_READ: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "accelsim_files_read", default=None
)


@contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Within the block, every file read through `read_bytes` (or `read_text`) is noted in
    the yielded dict: resolved path -> sha256 of the bytes read."""
    log: dict[str, str] = {}
    token = _READ.set(log)
    try:
        yield log
    finally:
        _READ.reset(token)


def read_bytes(path: str | Path, what: str) -> bytes:
    """The bytes of an input file, noted by an active `recording()`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    log = _READ.get()
    if log is not None:
        log[str(path.resolve())] = hashlib.sha256(data).hexdigest()
    return data


def read_text(path: str | Path, what: str) -> str:
    path = Path(path)
    data = read_bytes(path, what)
    try:
        return data.decode("utf-8-sig")  # a byte-order mark is not part of the text
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: byte {data[exc.start]:#04x} is not UTF-8 "
            f"text; save the {what} file as UTF-8"
        ) from None


_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}")


def folder_name(value, where: str) -> str:
    """A `name` that becomes a results folder (results/<name>): one plain path component,
    so that it cannot be empty, point outside results/ ('../x') or nest ('a/b')."""
    if not isinstance(value, str) or not _FOLDER_NAME.fullmatch(value):
        raise ConfigError(
            f"{where} name = {value!r}: must be text of letters, digits and "
            f"'._+-' (at most 100, not starting with '.'): it names the results "
            f"folder"
        )
    return value
