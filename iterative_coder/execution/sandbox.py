"""A bubblewrap (``bwrap``) sandbox for a generated program: it sees the system, Python and its run folder.

:meth:`Sandbox.wrap` turns a command into a ``bwrap`` command line. Inside, the program:

- sees a new, empty root with only what is bound into it: ``/usr``, ``/etc`` and the usrmerge links
  (``/bin``, ``/lib``...) read-only, the Python installation in use read-only (``sys.prefix``,
  ``sys.base_prefix``, the real ``sys.executable``, the user site-packages when Python uses it), any
  ``extra_ro`` folders read-only, and the run folder read-write at its own path, where it starts.
  Everything else, the person's home and the tool's current folder first, is not there. The rest of
  the root is made read-only, so writing anywhere but the run folder and the private ``/tmp`` fails;
- has a private ``/tmp`` (a tmpfs of :data:`TMP_SIZE` bytes, gone when it ends; a bwrap older than
  0.5.0 cannot size it, and the tool says so at start), its own ``/proc`` and a minimal ``/dev``;
- runs in new PID, IPC, UTS (and, when the kernel allows, cgroup) namespaces, so it sees none of the
  tool's processes and cannot read ``/proc/<tool pid>/environ``; and with no network unless
  ``network=True``: a new network namespace whose only interface is its own loopback, which bwrap
  brings up (a server in it answers requests sent from inside the same sandbox, :mod:`demo_kinds`);
- has no capabilities (``--cap-drop ALL``: run by root, bwrap would otherwise keep almost all of
  them), a new session (no ``TIOCSTI`` typing into the terminal), and dies with its parent;
- when its main process ends, bwrap exits and so does bwrap's init inside (``--die-with-parent``
  ties it to bwrap): the PID namespace ends and the kernel kills every process left in it, daemons
  and double forks included (without ``--die-with-parent`` they were measured to survive). The same
  happens when the runner kills bwrap. One gap: bwrap's init arms ``--die-with-parent`` only once the
  sandbox is set up; a bwrap killed before that (the tool killed with SIGKILL at the instant a run
  starts) leaves the init, and the program once started, running for good, in the run's process group
  or, past ``--new-session``, in a session of their own (containers/bubblewrap#633; both measured with
  0.8.0). :mod:`iterative_coder.execution.strays` stops them at the next start in the workspace. As
  the program is in a session of its own, the runner counts
  its processes with :func:`sandbox_processes`, not by session; those it leaves behind are killed
  with it and can no longer be counted afterwards.

The environment: bwrap hands the program exactly the environment bwrap itself is started with, plus
``PWD``. So the caller passes the program's environment as ``env=`` to ``subprocess.Popen`` (the runner
already does, with :func:`iterative_coder.execution.runner.sandbox_environment`); ``wrap`` adds no
``--clearenv``/``--setenv``, which would put every value on bwrap's command line, readable by every
user in ``/proc/<pid>/cmdline``.

Exit status: when the program is killed by signal N, bwrap exits with ``128 + N`` (measured with
bwrap 0.8.0: SIGSEGV gives 139, SIGKILL 137); :func:`signal_of` reads it back. A program that itself
exits with 139 looks the same.

Not covered: a memory cap of the whole process tree. That needs cgroups v2 (``systemd-run --user
--scope -p MemoryMax=...``), which the machine this was built on does not offer (no systemd user
session: "Failed to connect to bus: No medium found"; the cgroup v2 hierarchy there has only the
hugetlb controller). The runner's per-process rlimits stay the memory limit. Run by root, the program
is uid 0 without capabilities: it can still read root-owned files in the bound folders (``/etc``).
With ``network=True`` it shares the network namespace, and so X11's abstract sockets too.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from ..settings import UsageError
from .tasks import stat_fields

INSTALL_HINT = (
    "install bubblewrap: 'sudo apt-get install bubblewrap' (Debian, Ubuntu) "
    "or 'sudo dnf install bubblewrap' (Fedora)"
)
UPGRADE_HINT = "upgrade bubblewrap to 0.5.0 or later"
MODES = ("auto", "on", "off")
_SYSTEM_DIRS = ("/usr", "/etc")
_USRMERGE_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_NAMESPACES = ("--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")
_PROBE_SECONDS = 10
TMP_SIZE = 100 * 1024**2  # bytes the private /tmp may hold (unsized, a tmpfs takes half the memory)


class SandboxUnavailable(UsageError):
    """The sandbox was asked for (``on``) but bubblewrap is missing or cannot work on this machine."""


@dataclass(frozen=True)
class Sandbox:
    """A working bubblewrap at ``executable``; make one with :func:`find_sandbox`."""

    executable: str
    sized_tmp: bool = True  # this bwrap takes ``--size`` (0.5.0 and later); else /tmp is unsized

    def wrap(
        self,
        command: Sequence[str],
        run_dir: Path,
        *,
        network: bool = False,
        extra_ro: Sequence[Path] = (),
        extra_rw: Sequence[Path] = (),
    ) -> list[str]:
        """``command`` as a bwrap command line that runs it in ``run_dir``, seeing only what is listed.

        ``command[0]`` must be an executable path visible inside (in ``/usr`` or the Python
        installation). ``extra_ro`` paths are bound read-only at their own paths (an X server socket
        ``/tmp/.X11-unix/XN`` is one), ``extra_rw`` folders writable (a report folder). Start the
        result with the program's environment as ``env=``: it is passed on as it is (and
        :mod:`sandbox_fds` adds the seccomp filter and bwrap's info pipe).
        """
        run_dir = Path(run_dir).resolve()
        args = [self.executable, *_NAMESPACES]
        if not network:
            args.append("--unshare-net")
        args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        size = ["--size", str(TMP_SIZE)] if self.sized_tmp else []
        args += ["--proc", "/proc", "--dev", "/dev", *size, "--tmpfs", "/tmp", *_system_binds(network)]
        binds = [(path, "--ro-bind") for path in [*_python_paths(), *map(_absolute, extra_ro)]]
        binds += [(path.resolve(), "--bind") for path in [run_dir, *map(Path, extra_rw)]]
        for path, option in _nested_last(binds):
            args += [option, str(path), str(path)]
        args += ["--remount-ro", "/", "--chdir", str(run_dir), "--", *command]
        return args


def find_sandbox(mode: str = "auto") -> Sandbox | None:
    """The sandbox to run programs in, for ``mode`` ``auto`` (if it works), ``on`` (must) or ``off``.

    Raises :class:`SandboxUnavailable` for ``on`` when bwrap is missing or cannot start a sandbox here
    (user namespaces disabled, for one); the message says why and how to install it.
    """
    if mode not in MODES:
        raise ValueError(f"sandbox mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return None
    problem = unavailable_reason()
    if problem is None:
        executable = shutil.which("bwrap") or "bwrap"
        return Sandbox(executable, takes_size(executable))
    if mode == "on":
        raise SandboxUnavailable(f"no sandbox: {problem}; {INSTALL_HINT}")
    return None


def unavailable_reason() -> str | None:
    """Why bubblewrap cannot sandbox a program here, or None when it can (probed once, then cached)."""
    executable = shutil.which("bwrap")
    if executable is None:
        return "bubblewrap (bwrap) is not installed"
    return _probe(executable)


@functools.cache
def takes_size(executable: str) -> bool:
    """Whether this bwrap sizes a tmpfs (``--size``, bubblewrap 0.5.0): its help lists the option."""
    try:
        done = subprocess.run([executable, "--help"], capture_output=True, text=True, timeout=_PROBE_SECONDS)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "--size" in done.stdout + done.stderr


@functools.cache
def _probe(executable: str) -> str | None:
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    with tempfile.TemporaryDirectory(prefix="bwrap-probe-") as run_dir:
        command = Sandbox(executable, sized_tmp=False).wrap([true], Path(run_dir))  # namespaces only
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=_PROBE_SECONDS, env={}, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"bwrap did not run ({error})"
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        detail = said[-1] if said else f"exit {done.returncode}"
        return f"bwrap cannot start a sandbox here ({detail}); user namespaces may be disabled"
    return None


def signal_of(exit_code: int | None) -> int | None:
    """The signal that killed the program, from bwrap's exit code (``128 + N``) or Popen's (``-N``)."""
    if exit_code is None:
        return None
    if exit_code < 0:
        return -exit_code
    if 128 < exit_code < 128 + signal.NSIG:
        return exit_code - 128
    return None


def sandbox_processes(bwrap_pid: int) -> list[int]:
    """The live processes under the bwrap process ``bwrap_pid``: bwrap's own init, the program, all
    it started (daemons included: the init adopts them). Linux /proc; empty when ``bwrap_pid`` is gone.

    The program runs in a new session, so counting the runner's session no longer finds its children.
    """
    children: dict[int, list[int]] = {}
    for pid, info in process_table().items():
        children.setdefault(info.parent, []).append(pid)
    found, todo = [], list(children.get(bwrap_pid, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return sorted(found)


class ProcessInfo(NamedTuple):
    """What ``/proc/<pid>/stat`` says of a process's place: its parent, session and process group."""

    parent: int
    session: int
    group: int


def process_table() -> dict[int, ProcessInfo]:
    """Each live (not zombie) process: its parent, session and group (Linux /proc; empty elsewhere)."""
    table: dict[int, ProcessInfo] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return table
    for entry in entries:
        if not entry.isdigit():
            continue
        fields = stat_fields(entry)  # state, ppid, pgrp, session, ...
        if fields is not None and len(fields) > 3 and fields[0] != b"Z":
            table[int(entry)] = ProcessInfo(int(fields[1]), int(fields[3]), int(fields[2]))
    return table


def _system_binds(network: bool) -> list[str]:
    args = []
    for name in _SYSTEM_DIRS:
        if os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in _USRMERGE_DIRS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    if network:  # /etc/resolv.conf is often a link into systemd-resolved's folder
        args += ["--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve"]
    return args


def _python_paths() -> list[Path]:
    """The Python installation in use: its prefixes (a virtualenv and its base), the real interpreter,
    the user site-packages if Python reads it; each also at its real path when that differs."""
    paths = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    if sys.executable:
        paths.append(os.path.realpath(sys.executable))
    user_site = site.getusersitepackages() if site.ENABLE_USER_SITE else None
    if user_site and user_site in sys.path and os.path.isdir(user_site):
        paths.append(user_site)
    found = []
    for path in paths:
        for variant in (Path(path).absolute(), Path(path).resolve()):
            if variant.exists() and variant not in found:
                found.append(variant)
    return found


def _absolute(path: Path) -> Path:
    return Path(path).absolute()


def _nested_last(binds: list[tuple[Path, str]]) -> list[tuple[Path, str]]:
    """The binds, outer folders before inner ones so that each inner bind shows on top, less those a
    read-only bind already shows: under a system folder, under another read-only bind, or repeated."""
    read_only = [Path(name) for name in _SYSTEM_DIRS] + [
        path for path, option in binds if option == "--ro-bind"
    ]
    writable = [path for path, option in binds if option == "--bind"]
    kept: dict[Path, str] = {}
    for path, option in binds:
        if option == "--ro-bind" and (
            path in kept
            or (
                any(path != outer and path.is_relative_to(outer) for outer in read_only)
                and not any(path.is_relative_to(inner) for inner in writable)
            )
        ):
            continue
        kept[path] = option
    return sorted(kept.items(), key=lambda item: len(item[0].parts))
