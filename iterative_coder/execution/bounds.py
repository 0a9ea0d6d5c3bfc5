"""Reading what a generated program could have made: regular files only, and only so much.

A path a program controls can name a FIFO (opening it for reading waits for a writer forever), a
device, a link to anywhere, or a file of gigabytes. :func:`read_regular_file` opens without following
a link and without blocking, looks at what it opened, and reads at most a given size.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path


class UnreadableFile(Exception):
    """Why a file was not read, in words: ``is missing``, ``is not a regular file``..."""


def read_regular_file(path: Path, cap: int) -> bytes:
    """The bytes of the regular file ``path``, at most ``cap`` of them; :class:`UnreadableFile` for
    anything else (missing, a link, a FIFO, a device, a folder, larger than ``cap``)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableFile("is missing") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnreadableFile("is a link") from None
        raise UnreadableFile(f"cannot be opened ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("is not a regular file")
        if info.st_size > cap:
            raise UnreadableFile(f"is larger than {cap:,} bytes")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > cap:  # it grew while it was read
            raise UnreadableFile(f"is larger than {cap:,} bytes")
        return b"".join(chunks)
    except OSError as error:
        raise UnreadableFile(f"cannot be read ({error.strerror or error})") from None
    finally:
        os.close(fd)
