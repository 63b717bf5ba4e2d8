"""Writing what the report commands produce (tables, reports, JSON, charts) to a file or stdout.

A target that is a folder, a folder that cannot be made or a full disk is a UserError naming
the file and the fix, never a traceback; a closed pipe (``| head``) ends the command quietly.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path

from ..errors import UserError


class OutputError(UserError):
    """An output file or stdout cannot be written."""


def _refuse(target: str, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    hint = "Free space on that disk, or pass another file." if exc.errno == errno.ENOSPC else \
        "Pass a file path (not a folder) in a writable folder."
    return OutputError(f"Cannot write {target}: {reason}.", hint)


def check_target(path: str | Path) -> Path:
    """Refuse, before any work, an output path that names a folder; make its parent folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a folder.", "Pass a file path, e.g. " f"{path / 'report.md'}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(str(path.parent), exc) from None
    return path


def write_text(path: str | Path, text: str) -> None:
    path = check_target(path)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
    except OSError as exc:
        raise _refuse(str(path), exc) from None


def emit(text: str, end: str = "\n") -> None:
    """Print to stdout now (flushed), so a full disk or a closed pipe is reported here."""
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (``| head``) stopped: main() ends quietly
        quiet_stdout()
        raise
    except OSError as exc:
        quiet_stdout()
        raise _refuse("to standard output", exc) from None


def quiet_stdout() -> None:
    """Point stdout at /dev/null so that Python's exit-time flush does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
