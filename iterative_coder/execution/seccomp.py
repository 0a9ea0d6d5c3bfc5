"""A seccomp filter for the sandbox: no ptrace, no reading or writing another process's memory.

Inside the sandbox a program could ptrace bubblewrap's init (pid 1 there), clear its death signal
and outlive the run. bwrap loads a filter from a descriptor (``--seccomp FD``): the classic BPF program,
an array of ``struct sock_filter`` (``u16 code, u8 jt, u8 jf, u32 k``). The calls below fail with
EPERM; everything else is allowed.

Written here with :mod:`struct` rather than with a library: libseccomp's own Python bindings are
not published on PyPI, ``pyseccomp`` (ctypes over libseccomp.so) had its last release in 2021 and
needs the shared library installed, and the program is a dozen instructions. Only x86-64 and AArch64 are
known; on another machine there is no filter (:func:`filter_program` returns None and the sandbox
runs without it).
"""

from __future__ import annotations

import errno
import os
import platform
import struct

# Classic BPF opcodes (linux/filter.h, linux/bpf_common.h) and seccomp's (linux/seccomp.h).
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO = 0x7FFF0000, 0x00050000
_NR_OFFSET, _ARCH_OFFSET = 0, 4  # struct seccomp_data: int nr; u32 arch; ...
_X32_BIT = 0x40000000  # x86-64's x32 calls: refused whole, none is needed

# The refused calls, by architecture: (AUDIT_ARCH, {name: number}).
_ARCHITECTURES = {
    "x86_64": (0xC000003E, {"ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311,
                            "kcmp": 312, "pidfd_getfd": 438}),
    "aarch64": (0xC00000B7, {"ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271,
                             "kcmp": 272, "pidfd_getfd": 438}),
}  # fmt: skip
REFUSED = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd")


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes | None:
    """The BPF program for this machine (``platform.machine()``), or None when it is not known."""
    known = _ARCHITECTURES.get(machine or platform.machine())
    if known is None:
        return None
    arch, numbers = known
    calls = [numbers[name] for name in REFUSED]
    deny = len(calls) + 6  # the final "refuse": after 4 loads and checks, the x32 check, the calls, allow
    program = [
        _op(_LD_W_ABS, _ARCH_OFFSET),
        _op(_JEQ_K, arch, jt=1, jf=0),  # another architecture's calls (a 32-bit program): refused
        _op(_RET_K, _ERRNO | errno.EPERM),
        _op(_LD_W_ABS, _NR_OFFSET),
    ]
    program.append(_op(_JGE_K, _X32_BIT, jt=deny - len(program) - 1, jf=0))
    for number in calls:
        program.append(_op(_JEQ_K, number, jt=deny - len(program) - 1, jf=0))
    program += [_op(_RET_K, _ALLOW), _op(_RET_K, _ERRNO | errno.EPERM)]
    return b"".join(program)


def filter_fd() -> int | None:
    """A descriptor to read the filter from (a pipe holding it, its write end closed), for bwrap's
    ``--seccomp``; None without a filter. The caller closes it once the sandbox started."""
    program = filter_program()
    if program is None:
        return None
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, program)  # a few hundred bytes: far below a pipe's buffer
    finally:
        os.close(write_end)
    return read_end
