"""The zygote: a template process that forks sandbox processes on request (child side).

Starting an interpreter and importing what user code may use costs ~60 ms of CPU; ``fork`` of a
process that has already done it costs ~2 ms. The zygote is that process: started once per
pool as ``python -I -S`` with an empty environment, it runs :func:`pilot.sandbox.child.prepare`
and then only forks. It never runs user code and never receives user data (a request carries a
scratch path), so every child starts from the same pristine state and nothing passes between
executions. Each child applies every isolation layer itself, exactly as a directly started
sandbox does (:func:`pilot.sandbox.child.serve_one`). ``random`` is reseeded in every child
(CPython's at-fork hook).

Control channel: a ``SOCK_SEQPACKET`` socket (its fd number is ``argv[1]``). Requests
``{"scratch", "skip"}``; answers ``{"pid"}`` with three fds attached (the child's stdin write
end, its stdout read end, a pidfd the parent kills it through, immune to pid reuse), and
``{"exit": pid, "rc"}`` when a child ends. The zygote dies with its parent.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys

from pilot.sandbox import child, lockdown

_FORGET = ("socket", "_socket", "select", "selectors", "pilot.sandbox.zygote")


def _child(request: dict, job_r: int, out_w: int) -> None:
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.dup2(job_r, 0)
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.closerange(3, 1 << 16)
        os.setsid()
        os.chdir(request["scratch"])
        for name in _FORGET:
            sys.modules.pop(name, None)
        child.serve_one(request["scratch"], frozenset(request.get("skip") or ()))
    finally:
        os._exit(70)


def _fork(sock: socket.socket, request: dict) -> None:
    job_r, job_w = os.pipe()
    out_r, out_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        _child(request, job_r, out_w)
    os.close(job_r)
    os.close(out_w)
    fds = [job_w, out_r]
    try:
        fds.append(os.pidfd_open(pid))
        socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], fds)
    finally:
        for fd in fds:
            os.close(fd)


def _reap(sock: socket.socket) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock.send(json.dumps({"exit": pid, "rc": os.waitstatus_to_exitcode(status)}).encode())


def serve(control_fd: int) -> None:
    lockdown.die_with_parent()
    child.prepare()
    sock = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    try:  # the parent kills children through pidfds; without them it starts sandboxes directly
        os.close(os.pidfd_open(os.getpid()))
        pidfd = True
    except (AttributeError, OSError):
        pidfd = False
    sock.send(json.dumps({"ready": 1, "pidfd": pidfd}).encode())
    while True:
        ready, _, _ = select.select([sock, wake_r], [], [])
        if wake_r in ready:
            os.read(wake_r, 4096)
            _reap(sock)
        if sock in ready:
            message = sock.recv(1 << 16)
            if not message:  # the parent closed the channel: shut down
                os._exit(0)
            try:
                _fork(sock, json.loads(message))
            except OSError as exc:  # e.g. fork() refused: this request fails, the zygote goes on
                sock.send(json.dumps({"error": f"fork failed: {exc}"}).encode())


def main() -> None:
    serve(int(sys.argv[1]))
