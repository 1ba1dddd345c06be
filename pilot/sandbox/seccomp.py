"""A seccomp-BPF *allowlist* for the sandbox process, assembled by hand (stdlib + ctypes only).

Why an allowlist: a denylist has to name every dangerous syscall of every kernel version
(``io_uring_setup``, ``clone3``, ``process_vm_writev``, …); an allowlist names the ~60 calls a
pure-Python computation needs and refuses everything else with ``EPERM`` (so user code sees a
clean ``PermissionError`` rather than a crash). In particular these are *not* allowed: every
socket call (``socket``, ``connect``, ``bind``, …), ``execve``, ``fork``/``vfork``/``clone``/
``clone3`` (no processes, no threads), ``kill``/``tkill``/``tgkill`` (no signals to anyone),
``ptrace``, ``process_vm_*``, ``unshare``/``setns``/``mount``/``chroot``, ``bpf``,
``perf_event_open``, ``io_uring_*``, ``userfaultfd``, ``keyctl``, ``ioctl`` (except three
harmless fd-flag requests).

File-system calls (``openat``, ``mkdir``, ``unlink``, …) are allowed only when a path-based
layer (Landlock or a chroot, see :mod:`pilot.sandbox.lockdown`) confines them to the scratch
directory; without one the filter refuses them too.

The filter checks the architecture first (a syscall made through another ABI, such as x32 on
x86-64, kills the process) and is installed in two stages: at boot with ``prctl``/``seccomp``/
``setrlimit`` still allowed so that the job's limits can be applied, then a second filter that
refuses those (filters stack; the strictest verdict wins).
"""

from __future__ import annotations

import ctypes
import os
import struct

_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06
RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_EPERM = 0x00050000 | 1
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2
_X32_BIT = 0x40000000
# ioctl requests that only touch fd flags / terminal probes (CPython's set_inheritable, isatty).
_IOCTLS = (0x5451, 0x5450, 0x5401)  # FIOCLEX, FIONCLEX, TCGETS

# name -> number, per architecture (x86-64 and the generic table arm64 uses).
_X86_64 = dict(
    read=0, write=1, close=3, fstat=5, poll=7, lseek=8, mmap=9, mprotect=10, munmap=11, brk=12,
    rt_sigaction=13, rt_sigprocmask=14, rt_sigreturn=15, ioctl=16, pread64=17, pwrite64=18, readv=19,
    writev=20, select=23, sched_yield=24, mremap=25, madvise=28, dup=32, nanosleep=35, getpid=39,
    exit=60, uname=63, fcntl=72, fsync=74, fdatasync=75, ftruncate=77, getcwd=79, chdir=80, fchdir=81,
    gettimeofday=96, getrusage=98, times=100, getuid=102, getgid=104, geteuid=107, getegid=108,
    getppid=110, sigaltstack=131, gettid=186, time=201, futex=202, sched_getaffinity=204,
    clock_gettime=228, clock_getres=229, clock_nanosleep=230, exit_group=231, pselect6=270, ppoll=271,
    dup3=292, getrandom=318, rseq=334, close_range=436, restart_syscall=219,
    # file system (only with a path-based layer)
    open=2, stat=4, lstat=6, access=21, getdents=78, rename=82, mkdir=83, rmdir=84, creat=85,
    unlink=87, readlink=89, umask=95, getdents64=217, openat=257, mkdirat=258, newfstatat=262,
    unlinkat=263, renameat=264, readlinkat=267, faccessat=269, utimensat=280, fallocate=285,
    renameat2=316, statx=332, faccessat2=439,
    # boot stage only
    prctl=157, setrlimit=160, prlimit64=302, seccomp=317,
)
_AARCH64 = dict(
    read=63, write=64, close=57, fstat=80, lseek=62, mmap=222, mprotect=226, munmap=215, brk=214,
    rt_sigaction=134, rt_sigprocmask=135, rt_sigreturn=139, ioctl=29, pread64=67, pwrite64=68, readv=65,
    writev=66, sched_yield=124, mremap=216, madvise=233, dup=23, nanosleep=101, getpid=172, exit=93,
    uname=160, fcntl=25, fsync=82, fdatasync=83, ftruncate=46, getcwd=17, chdir=49, fchdir=50,
    gettimeofday=169, getrusage=165, times=153, getuid=174, getgid=176, geteuid=175, getegid=177,
    getppid=173, sigaltstack=132, gettid=178, futex=98, sched_getaffinity=123, clock_gettime=113,
    clock_getres=114, clock_nanosleep=115, exit_group=94, pselect6=72, ppoll=73, dup3=24,
    getrandom=278, rseq=293, close_range=436, restart_syscall=128,
    umask=166, getdents64=61, openat=56, mkdirat=34, newfstatat=79, unlinkat=35, readlinkat=78,
    faccessat=48, utimensat=88, fallocate=47, renameat2=276, statx=291, faccessat2=439,
    prctl=167, setrlimit=164, prlimit64=261, seccomp=277,
)
_ARCHES = {"x86_64": (0xC000003E, _X86_64), "amd64": (0xC000003E, _X86_64),
           "aarch64": (0xC00000B7, _AARCH64), "arm64": (0xC00000B7, _AARCH64)}
FS_CALLS = frozenset({
    "open", "stat", "lstat", "access", "getdents", "rename", "mkdir", "rmdir", "creat", "unlink",
    "readlink", "umask", "getdents64", "openat", "mkdirat", "newfstatat", "unlinkat", "renameat",
    "readlinkat", "faccessat", "utimensat", "fallocate", "renameat2", "statx", "faccessat2",
})
BOOT_ONLY = ("prctl", "setrlimit", "prlimit64", "seccomp")


class SeccompUnavailable(OSError):
    """The filter could not be built or installed (unknown architecture, kernel without it)."""


def _arch() -> tuple[int, dict[str, int]]:
    machine = os.uname().machine.lower()
    if machine not in _ARCHES:
        raise SeccompUnavailable(f"no seccomp syscall table for architecture {machine!r}")
    return _ARCHES[machine]


def _assemble(code: list[tuple]) -> bytes:
    """``(op, k, jt, jf)`` rows whose jumps may be label names (``("label", name)`` rows)."""
    labels: dict[str, int] = {}
    rows = []
    for row in code:
        if row[0] == "label":
            labels[row[1]] = len(rows)
        else:
            rows.append(row)
    out = bytearray()
    for i, (op, k, jt, jf) in enumerate(rows):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt <= 255 and 0 <= jf <= 255):
            raise SeccompUnavailable("seccomp program too long for 8-bit jumps")
        out += struct.pack("=HBBI", op, jt, jf, k)
    return bytes(out)


def allowlist_program(*, files: bool, boot: bool) -> bytes:
    """The allowlist filter: ``files`` allows the file-system calls, ``boot`` the calls the
    child needs between boot and job (``prctl``, ``seccomp``, ``setrlimit``/``prlimit64``)."""
    audit_arch, table = _arch()
    names = [n for n in table if n != "ioctl" and (files or n not in FS_CALLS) and (boot or n not in BOOT_ONLY)]
    code: list[tuple] = [
        (_LD_W_ABS, 4, 0, 0),  # seccomp_data.arch
        (_JEQ_K, audit_arch, 1, 0),
        (_RET_K, RET_KILL_PROCESS, 0, 0),
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
    ]
    if table is _X86_64:
        code += [(_JGE_K, _X32_BIT, 0, 1), (_RET_K, RET_KILL_PROCESS, 0, 0)]
    code += [(_JEQ_K, table[n], "allow", 0) for n in names]
    code += [(_JEQ_K, table["ioctl"], "ioctl", 0), (_RET_K, RET_EPERM, 0, 0), ("label", "ioctl"),
             (_LD_W_ABS, 24, 0, 0)]  # low word of args[1] (the request)
    code += [(_JEQ_K, request, "allow", 0) for request in _IOCTLS]
    code += [(_RET_K, RET_EPERM, 0, 0), ("label", "allow"), (_RET_K, RET_ALLOW, 0, 0)]
    return _assemble(code)


def denylist_program(names: tuple[str, ...]) -> bytes:
    """A filter refusing ``names`` (EPERM) and passing everything else to the filters below it."""
    audit_arch, table = _arch()
    code: list[tuple] = [(_LD_W_ABS, 4, 0, 0), (_JEQ_K, audit_arch, 1, 0), (_RET_K, RET_KILL_PROCESS, 0, 0),
                         (_LD_W_ABS, 0, 0, 0)]
    code += [(_JEQ_K, table[n], "deny", 0) for n in names if n in table]
    code += [(_RET_K, RET_ALLOW, 0, 0), ("label", "deny"), (_RET_K, RET_EPERM, 0, 0)]
    return _assemble(code)


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(program: bytes) -> None:
    """Set no_new_privs and install ``program`` on this (single-threaded) process."""
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise SeccompUnavailable(f"prctl(NO_NEW_PRIVS) failed: errno {ctypes.get_errno()}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        raise SeccompUnavailable(f"prctl(SET_SECCOMP) failed: errno {ctypes.get_errno()}")
