"""Removing a folder a generated program could have filled: any depth, any names, links not followed.

``shutil.rmtree`` recurses once per level (a program that leaves 1,500 nested folders makes it raise
``RecursionError``) and builds ever longer paths. :func:`remove_tree` walks down and up with one open
folder at a time, by names relative to it, so neither the depth nor the length of names matters, and a
link is removed as a link.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

SET_ASIDE = ".set-aside-"  # a folder that could not be removed goes aside under this name, never reused
_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def remove_tree(root: Path) -> None:
    """Remove the folder ``root`` and all it holds (a link at ``root`` itself is removed, not followed)."""
    if os.path.islink(root) or not os.path.isdir(root):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(root)
        return
    fd = os.open(root, _DIRECTORY)
    names: list[str] = []  # the folders walked down into, from ``root``
    try:
        while True:
            child = _first_folder_emptied(fd)
            if child is not None:
                inner = _open_folder(child, fd)
                os.close(fd)
                fd = inner
                names.append(child)
                continue
            if not names:
                break
            parent = os.open("..", _DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(names.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(root)


def set_aside(folder: Path) -> Path:
    """Rename ``folder`` (one that could not be removed) to ``.set-aside-NAME-RANDOM`` beside it; the
    new path."""
    aside = folder.with_name(f"{SET_ASIDE}{folder.name}-{secrets.token_hex(4)}")
    folder.rename(aside)
    return aside


def set_aside_names(parent: Path) -> set[str]:
    """The folders set aside in ``parent`` (none when it is missing or a link)."""
    if parent.is_symlink() or not parent.is_dir():
        return set()
    with contextlib.suppress(OSError):
        return {entry.name for entry in os.scandir(parent) if entry.name.startswith(SET_ASIDE)}
    return set()


def set_aside_from(name: str) -> str:
    """The name a folder set aside as ``name`` had (``v2`` for ``.set-aside-v2-1a2b3c4d``)."""
    return name.removeprefix(SET_ASIDE).rsplit("-", 1)[0]


def _open_folder(name: str, fd: int) -> int:
    """Open the sub-folder ``name`` of ``fd``, made readable first when a program took that away."""
    try:
        return os.open(name, _DIRECTORY, dir_fd=fd)
    except PermissionError:
        os.chmod(name, 0o700, dir_fd=fd)
        return os.open(name, _DIRECTORY, dir_fd=fd)


def files_under(root: Path) -> Iterator[tuple[int, Path]]:
    """(size, path) of each file and link under ``root``, at any depth, links not followed; what
    cannot be read is passed over."""
    folders = [str(root)]
    while folders:
        folder = folders.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            folders.append(entry.path)
                        else:
                            yield entry.stat(follow_symlinks=False).st_size, Path(entry.path)
                    except OSError:
                        continue
        except OSError:
            continue


def _first_folder_emptied(fd: int) -> str | None:
    """Unlink every file and link in the open folder ``fd``; the name of a sub-folder, if any is left."""
    with os.scandir(fd) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                return entry.name
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.name, dir_fd=fd)
    return None
