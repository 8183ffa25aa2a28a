"""Reading a user's text file: an unreadable file, a directory or bytes that are not UTF-8
are one ConfigError naming the file, not a traceback."""

from __future__ import annotations

import re
from pathlib import Path

from accelsim.errors import ConfigError


def read_text(path: str | Path, what: str) -> str:
    path = Path(path)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
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
