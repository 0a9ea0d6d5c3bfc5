"""The descriptors one sandboxed run hands bubblewrap, and the end of its sandbox from outside.

- ``--seccomp FD``: the filter of :mod:`seccomp` (no ptrace: the program cannot take over bwrap's
  init and outlive the run);
- ``--info-fd FD``: bwrap writes ``{"child-pid": N}`` there, N being its init as the tool sees it. Once
  the run is over, :meth:`SandboxFds.end_sandbox` kills that init, and with it the kernel kills every
  process left in the sandbox's PID namespace, whatever it did to its environment or its session.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
from collections.abc import Iterator

from .seccomp import filter_fd
from .strays import pid_namespace

INFO_CAP = 4096  # bytes of bwrap's info read


class SandboxFds:
    """The seccomp filter's descriptor (None without a filter) and the info pipe of one run."""

    def __init__(self) -> None:
        self.seccomp = filter_fd()
        self._info_read, self.info = os.pipe()

    def added_to(self, command: list[str]) -> list[str]:
        """The bwrap ``command`` with the filter and the info pipe given to it (start it with
        :attr:`passed` inherited)."""
        seccomp = [] if self.seccomp is None else ["--seccomp", str(self.seccomp)]
        return [command[0], *seccomp, "--info-fd", str(self.info), *command[1:]]

    @property
    def passed(self) -> tuple[int, ...]:
        """The descriptors bwrap inherits."""
        return (self.info,) if self.seccomp is None else (self.seccomp, self.info)

    def end_sandbox(self) -> int | None:
        """After the run: SIGKILL bwrap's init if it is still there (in the PID namespace bwrap reported);
        its pid as bwrap reported it, or None when bwrap reported none."""
        self._close_ours()
        os.set_blocking(self._info_read, False)
        try:
            data = os.read(self._info_read, INFO_CAP)
        except OSError:
            return None
        try:
            info, _end = json.JSONDecoder().raw_decode(data.decode("utf-8", "replace").lstrip())
        except ValueError:
            return None
        pid = info.get("child-pid") if isinstance(info, dict) else None
        if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 1:
            return None
        # Still that init, not another process given its pid since: in the namespace bwrap made.
        if pid_namespace(str(pid)) == f"pid:[{info.get('pid-namespace')}]":
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        return pid

    def _close_ours(self) -> None:
        for name in ("seccomp", "info"):
            fd = getattr(self, name)
            if fd is not None and fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def close(self) -> None:
        """Close every descriptor left."""
        self._close_ours()
        if self._info_read >= 0:
            os.close(self._info_read)
            self._info_read = -1


@contextlib.contextmanager
def sandbox_fds() -> Iterator[SandboxFds]:
    """The descriptors for one sandboxed run, closed afterwards."""
    fds = SandboxFds()
    try:
        yield fds
    finally:
        fds.close()
