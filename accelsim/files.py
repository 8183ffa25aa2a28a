"""Reading a user's text file: an unreadable file, a directory or bytes that are not UTF-8
are one ConfigError naming the file, not a traceback."""

from __future__ import annotations

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
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: line {line}: byte {data[exc.start]:#04x} is not UTF-8 "
                          f"text; save the {what} file as UTF-8") from None
