"""The code-node sandbox: runs untrusted user Python in a fresh, locked-down interpreter process.

Parent side (the API process or an arq worker): :mod:`pilot.sandbox.pool` keeps a few booted
sandbox processes ready ("spares"), hands each execution a fresh one and never reuses it, and
enforces the wall-time and output limits by killing the process; :mod:`pilot.sandbox.spawn`
starts them (forked by the zygote, :mod:`pilot.sandbox.zygote`, or as new interpreters);
:mod:`pilot.sandbox.outcome` holds the limits, results and errors; :mod:`pilot.sandbox.syntax`
checks code at validation time.

Child side (the sandbox process, ``python -I -S``; stdlib only): :mod:`pilot.sandbox.child`
boots, locks itself down with :mod:`pilot.sandbox.lockdown` (uid drop, user + network
namespaces, Landlock, rlimits) and :mod:`pilot.sandbox.seccomp` (a seccomp-BPF allowlist), then
runs the user code with :mod:`pilot.sandbox.usercode`. The wire format between the two is in
:mod:`pilot.sandbox.protocol`.

This ``__init__`` must stay import-free: the sandbox process imports the child modules through
it before it locks down.
"""
