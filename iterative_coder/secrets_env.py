"""Keep the model keys out of what other processes of the same user can read in ``/proc/<tool pid>``.

The program the tool runs gets a clean environment, but without a sandbox it runs as the same user
and could read the tool's ``/proc/<pid>/environ``, which the kernel serves from the process's
*initial* environment block, on its stack. ``del os.environ[...]`` does not change that block.

:func:`move_secrets_out_of_environ` takes the keys out of ``os.environ`` (and so out of the C
``environ``), out of ``posix.environ`` (the startup copy ``os.environ`` was built from), and overwrites
their ``NAME=value`` entries in the initial block with NUL bytes through ``/proc/self/mem``, between
``env_start`` and ``env_end`` of ``/proc/self/stat``. The other variables stay readable there.

Measured on Linux 6.18 (as root and as ``nobody`` with ``setpriv``): overwriting through
``/proc/self/mem`` (or ctypes ``memset`` at the same addresses) works, and a child then reading
``/proc/<ppid>/environ`` no longer finds the key. ``prctl(PR_SET_MM, PR_SET_MM_ENV_START, ...)``
fails with EPERM even as root there (it needs CAP_SYS_RESOURCE, which the container withholds).

That closes ``environ`` only: the tool still holds the key in its memory (it needs it), and a
same-user process may read ``/proc/<tool pid>/mem`` where Yama's ptrace_scope does not forbid it
(that machine has no Yama at all). :func:`make_memory_private` (``PR_SET_DUMPABLE`` 0) closes both
``environ`` and ``mem`` to processes without CAP_SYS_PTRACE, that is, to every non-root program; a
root program is stopped only by the sandbox's PID namespace. A helper process started without the
keys would not be enough either: the program can read any same-user process, not just its parent.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
from collections.abc import Iterable

SECRET_NAMES = (
    "OPENAI_API_KEY",
    "AZURE_OPENAI_API_KEY",
    "AZURE_OPENAI_AD_TOKEN",
    "OAI_CONFIG_LIST",  # may hold keys in its JSON
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "TOGETHER_API_KEY",
    "HF_TOKEN",
)
_PR_SET_DUMPABLE = 4


def move_secrets_out_of_environ(names: Iterable[str] = SECRET_NAMES) -> dict[str, str]:
    """Remove the variables ``names`` from this process's environment, as seen from inside and from
    ``/proc/<pid>/environ``; return the values of those that were set, for the tool to use.

    Call it early, before :func:`make_memory_private` and before starting any program. On a system
    without ``/proc`` only ``os.environ`` is changed. Raises OSError if the initial environment
    block exists but cannot be rewritten.
    """
    wanted = set(names)
    moved = {}
    startup_copy = getattr(sys.modules.get("posix"), "environ", {})
    for name in wanted:
        value = os.environ.pop(name, None)  # also unsetenv(): gone from the C environ
        if value is not None:
            moved[name] = value
        startup_copy.pop(os.fsencode(name), None)
    for name, value in _blank_initial_entries(wanted).items():
        moved.setdefault(name, value)
    return moved


def initial_environ_names() -> list[str]:
    """The names in this process's initial environment block, as ``/proc/self/environ`` shows it."""
    try:
        with open("/proc/self/environ", "rb") as handle:
            block = handle.read()
    except OSError:
        return []
    return [os.fsdecode(entry.split(b"=", 1)[0]) for entry in block.split(b"\0") if b"=" in entry]


def make_memory_private() -> bool:
    """Forbid other processes without CAP_SYS_PTRACE to read this one's ``/proc`` ``environ`` and
    ``mem`` (``prctl(PR_SET_DUMPABLE, 0)``); True if set. Linux only.

    Also: no core dump, no debugger or py-spy attaching as the same user, and ``/proc/self`` files
    owned by root. Programs started afterwards are not affected (``execve`` resets the flag).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _blank_initial_entries(names: set[str]) -> dict[str, str]:
    """Overwrite the ``NAME=value`` entries of ``names`` in the initial environment block with NULs."""
    bounds = _environment_bounds()
    if bounds is None:
        return {}
    start, end = bounds
    found = {}
    with open("/proc/self/mem", "r+b", buffering=0) as memory:
        memory.seek(start)
        block = memory.read(end - start)
        offset = 0
        for entry in block.split(b"\0"):
            name, _, value = entry.partition(b"=")
            if os.fsdecode(name) in names:
                memory.seek(start + offset)
                memory.write(b"\0" * len(entry))
                found[os.fsdecode(name)] = os.fsdecode(value)
            offset += len(entry) + 1
    return found


def _environment_bounds() -> tuple[int, int] | None:
    """``env_start`` and ``env_end`` (fields 50 and 51 of ``/proc/self/stat``), or None without them."""
    with contextlib.suppress(OSError):
        with open("/proc/self/stat", "rb") as handle:
            stat = handle.read()
        fields = stat[stat.rfind(b")") + 2 :].split()  # from field 3 on
        if len(fields) >= 49 and int(fields[48]) > int(fields[47]):
            return int(fields[47]), int(fields[48])
    return None
