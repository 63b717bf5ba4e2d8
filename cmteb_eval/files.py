"""Opening the files a user points us at: regular files only, so that a FIFO, a device or a
folder where a data file, a card, a result or a cache shard should be is refused at once
instead of blocking the run forever (opening a FIFO for reading waits for a writer).

The file is opened non-blocking and checked with ``fstat`` on the open descriptor, so
nothing can swap it between the check and the read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
         (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


class NotARegularFile(OSError):
    """The path exists but is not a regular file (a FIFO, a device, a folder)."""

    def __init__(self, path: str | Path, kind: str) -> None:
        super().__init__(f"{path} is {kind}, not a regular file")
        self.path = Path(path)
        self.kind = kind
        self.strerror = f"it is {kind}, not a regular file"


def kind_of(mode: int) -> str:
    for test, name in KINDS:
        if test(mode):
            return name
    return "not a regular file"


def check_regular(path: str | Path) -> None:
    """Raise NotARegularFile when ``path`` (followed through symlinks) exists and is not a regular file."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return
    if not stat.S_ISREG(mode):
        raise NotARegularFile(path, kind_of(mode))


def open_regular(path: str | Path) -> BinaryIO:
    """Open ``path`` for binary reading; NotARegularFile (an OSError) unless it is a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(path, kind_of(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path) -> bytes:
    with open_regular(path) as handle:
        return handle.read()


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    return read_bytes(path).decode(encoding)


_hash_cache: dict[tuple[str, int, int, int], str] = {}


def file_sha256(path: str | Path, remember: bool = True) -> str:
    """SHA-256 of a regular file's content, streamed; remembered by resolved path, inode, size and
    mtime (``remember=False``: always read, for a check that must see the bytes on disk now)."""
    path = Path(path)
    with open_regular(path) as handle:
        info = os.fstat(handle.fileno())
        key = (str(path.resolve()), info.st_ino, info.st_size, info.st_mtime_ns)
        if key not in _hash_cache or not remember:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            if not remember:
                return digest.hexdigest()
            _hash_cache[key] = digest.hexdigest()
    return _hash_cache[key]
