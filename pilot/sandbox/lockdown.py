"""Kernel isolation layers the sandbox process applies to itself (child side; stdlib + ctypes).

Each layer is tried in order and reports what it did (or why it could not): the parent logs a
missing optional layer once and refuses to run code without the required ones (see
:mod:`pilot.sandbox.pool`). None of them needs a capability the app does not already have.

1. :func:`drop_privileges`: when the app runs as root, become ``nobody`` (a root sandbox would
   own root's files and ignore RLIMIT_NPROC). Not dumpable (no ptrace / ``/proc`` access from
   other sandboxes of the same uid), killed with its parent.
2. :func:`enter_namespaces`: a new user namespace (unprivileged) and, inside it, new network and
   IPC namespaces: the process sees only a down loopback device, so even a socket that got past
   seccomp reaches nothing. Often refused in containers (Docker's default profile); optional.
3. :func:`landlock`: the file system is reduced to the scratch directory (read/write, no
   execute, no devices); Landlock ABI ≥ 4 also refuses TCP bind/connect, ABI ≥ 6 signals to
   processes outside the sandbox and abstract unix sockets. Fallback: :func:`chroot` into the
   scratch directory (possible inside the user namespace). Without either, seccomp refuses every
   file-system call instead.
4. :func:`apply_rlimits`: CPU seconds, address space, file size, no new processes, few fds.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal

NOBODY = 65534
CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWNET = 0x08000000, 0x10000000, 0x40000000
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
_SYS_LANDLOCK = (444, 445, 446)  # create_ruleset, add_rule, restrict_self (same on x86-64 and arm64)
_FS_EXECUTE, _FS_MAKE_CHAR, _FS_MAKE_SOCK, _FS_MAKE_FIFO, _FS_MAKE_BLOCK = 1, 1 << 6, 1 << 9, 1 << 10, 1 << 11
_FS_IOCTL_DEV = 1 << 15
FILE_SIZE_LIMIT = 8 << 20  # bytes per file written in the scratch directory
OPEN_FILES_LIMIT = 32

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _err(call: str) -> str:
    errno = ctypes.get_errno()
    return f"{call}: {os.strerror(errno)} (errno {errno})"


def die_with_parent() -> None:
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def drop_privileges() -> bool:
    """Dies with its parent; as root, switch to ``nobody``. True if the uid changed."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.geteuid() != 0:
        return False
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # cleared by the uid change
    return True


def set_dumpable(on: bool) -> None:
    """Off: no ptrace or ``/proc/<pid>`` access from other processes of the same uid (it also
    makes ``/proc/self`` root-owned, so the namespace id maps are written before)."""
    _libc.prctl(PR_SET_DUMPABLE, 1 if on else 0, 0, 0, 0)


def enter_namespaces() -> str | None:
    """New user + network + IPC namespaces, the same uid/gid mapped inside. None, or why not."""
    uid, gid = os.geteuid(), os.getegid()
    if _libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC) != 0:
        return _err("unshare(user, net, ipc)")
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError as exc:
        return f"user namespace id mapping: {exc}"
    return None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock(scratch: str) -> tuple[int, str | None]:
    """Restrict the file system to ``scratch`` (plus TCP and signal scoping when the ABI has
    them). Returns ``(abi, None)`` when active, ``(0, reason)`` when not."""
    create, add_rule, restrict = _SYS_LANDLOCK
    abi = _libc.syscall(create, None, 0, 1)  # LANDLOCK_CREATE_RULESET_VERSION
    if abi < 1:
        return 0, _err("landlock_create_ruleset")
    fs = (1 << 13) - 1 | (1 << 13 if abi >= 2 else 0) | (1 << 14 if abi >= 3 else 0) | (_FS_IOCTL_DEV if abi >= 5 else 0)
    attr = _RulesetAttr(fs, 0b11 if abi >= 4 else 0, 0b11 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _libc.syscall(create, ctypes.byref(attr), size, 0)
    if ruleset < 0:
        return 0, _err("landlock_create_ruleset")
    try:
        scratch_fd = os.open(scratch, os.O_PATH | os.O_CLOEXEC | os.O_DIRECTORY)
        try:
            allowed = fs & ~(_FS_EXECUTE | _FS_MAKE_CHAR | _FS_MAKE_SOCK | _FS_MAKE_FIFO | _FS_MAKE_BLOCK | _FS_IOCTL_DEV)
            rule = _PathBeneath(allowed, scratch_fd)
            if _libc.syscall(add_rule, ruleset, 1, ctypes.byref(rule), 0) != 0:  # LANDLOCK_RULE_PATH_BENEATH
                return 0, _err("landlock_add_rule")
        finally:
            os.close(scratch_fd)
        if _libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS (required by restrict_self)
            return 0, _err("prctl(NO_NEW_PRIVS)")
        if _libc.syscall(restrict, ruleset, 0) != 0:
            return 0, _err("landlock_restrict_self")
    finally:
        os.close(ruleset)
    return abi, None


def chroot(scratch: str) -> str | None:
    """Make ``scratch`` the root directory (needs the user namespace). None, or why not."""
    try:
        os.chroot(scratch)
        os.chdir("/")
    except OSError as exc:
        return f"chroot: {exc}"
    return None


def apply_rlimits(*, cpu_s: float, address_space: int) -> None:
    """CPU time (soft → SIGXCPU, hard one second later → SIGKILL), address space, file size
    (writes past it fail with EFBIG instead of killing), no new processes or threads, few fds."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + cpu_s + 0.999)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    for limit, value in (
        (resource.RLIMIT_CPU, (soft, soft + 1)),
        (resource.RLIMIT_AS, (address_space, address_space)),
        (resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT)),
        (resource.RLIMIT_NPROC, (0, 0)),
        (resource.RLIMIT_NOFILE, (OPEN_FILES_LIMIT, OPEN_FILES_LIMIT)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_MEMLOCK, (0, 0)),
        (resource.RLIMIT_MSGQUEUE, (0, 0)),
    ):
        resource.setrlimit(limit, value)


def address_space_now() -> int:
    """This process's current virtual size in bytes (read before the file system is closed)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
