"""Reading a user's file: an unreadable file, a directory or bytes that are not UTF-8 are
one ConfigError naming the file, not a traceback. Every input file is read through
`read_bytes`, so `recording()` can list the digest of each file a computation read: a
sweep point's key hashes them, and editing any of them gives the point a new key."""

from __future__ import annotations

import contextvars
import hashlib
import io
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

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


MAX_ARRAY_BYTES = 2**31  # one array of an .npz input: VGG-16's fc6 weights in float32 take 0.4 GB


def read_npz(
    path: str | Path, what: str, max_bytes: int = MAX_ARRAY_BYTES
) -> dict[str, np.ndarray]:
    """Every array of an .npz input file by name. Each member's header is read before its
    data, so an array of Python objects (a pickle: never loaded, it could run code) or one
    whose declared size exceeds `max_bytes` (a few bytes that claim terabytes) is refused
    naming the file, the array and its shape, before anything is allocated."""
    path = Path(path)
    data = read_bytes(path, what)
    bad = f"{path}: not an .npz archive of arrays ({what} file)"
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ConfigError(f"{bad}: {exc}; save it with numpy.savez") from None
    arrays = {}
    with archive:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            where = f"{path}: array {name!r}"
            try:
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    header = (
                        np.lib.format.read_array_header_1_0
                        if version == (1, 0)
                        else np.lib.format.read_array_header_2_0
                    )
                    shape, _, dtype = header(member)
                    if dtype.hasobject:
                        raise ConfigError(
                            f"{where} holds Python objects (dtype {dtype}), which are never "
                            f"loaded (a pickle can run code): save numbers with numpy.savez"
                        )
                    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
                    if size > max_bytes:
                        raise ConfigError(
                            f"{where} has shape {tuple(shape)} of {dtype}: {size:,} bytes, "
                            f"more than the {max_bytes:,} an input array may take"
                        )
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
            except ConfigError:
                raise
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, RuntimeError) as exc:
                raise ConfigError(f"{where} cannot be read: {exc}") from None
    return arrays


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


def output_dir(path: Path, names: Iterable[str], where: str = "--out") -> Path:
    """Check, before any work, that the directory `path` can take the files `names`, so
    that a run never fails after minutes of simulation for want of a place to write: a name
    longer than the file system allows, a file or a dangling symbolic link where the
    directory or one of its outputs should be, an output that is a directory, a place
    without write permission. The directory is not created here (a refused run leaves none
    behind); `write_bytes` and `made` create it when there is something to write."""
    text = str(path)
    if not text:
        raise ConfigError(f"{where} '': name a directory (it is created if missing)")
    try:
        name_max = os.pathconf(os.path.abspath(os.sep), "PC_NAME_MAX")
    except (OSError, ValueError):
        name_max = 255
    for part in (*Path(os.path.abspath(text)).parts, *names):
        if len(os.fsencode(part)) > name_max:
            raise ConfigError(
                f"{where} {text[:60]}...: the name {part[:40]!r}... is "
                f"{len(os.fsencode(part))} bytes, longer than the file system allows "
                f"({name_max}); choose a shorter {where}"
            )
    existing = Path(os.path.abspath(text))
    while not existing.exists() and not existing.is_symlink():
        existing = existing.parent
    if path.is_symlink() and not path.exists():
        raise ConfigError(f"{where} {path}: is a symbolic link to nothing; remove it or fix it")
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{where} {path}: is a file; give a directory (it is created if missing)")
    for name in names:
        target = path / name
        if target.is_symlink() and not target.exists():
            raise ConfigError(
                f"{where} {path}: {name} is a symbolic link to nothing; remove it or "
                f"choose another {where}"
            )
        if target.is_dir():
            raise ConfigError(
                f"{where} {path}: {name} is a directory where the output file goes; "
                f"remove it or choose another {where}"
            )
    if existing.is_symlink() and not existing.exists():
        raise ConfigError(f"{where} {path}: {existing} is a symbolic link to nothing")
    if not existing.is_dir():
        raise ConfigError(f"{where} {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"{where} {path}: cannot write in {existing} (permission denied)")
    return path


def made(directory: Path) -> Path:
    """The directory, created if missing; a failure is one line naming it."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot create it ({exc.strerror or exc})") from None
    return directory


def write_bytes(path: Path, data: bytes | str) -> Path:
    """Write an output file (text as UTF-8), creating its directory; a failure is one line
    naming the file."""
    made(path.parent)
    try:
        path.write_bytes(data.encode() if isinstance(data, str) else data)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot write it ({exc.strerror or exc})") from None
    return path
