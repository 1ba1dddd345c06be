"""Credentials: per-workspace named secrets, encrypted at rest, referenced by nodes by name.

- ``/api/credentials`` (:mod:`.controllers`): create, list, read, rotate (``PUT`` a new value) and
  delete; the value is write-only: no response ever carries it.
- :mod:`.crypto`: Fernet encryption with the key from ``PILOT_SECRET_KEY`` (or a key file made
  once in the data dir); each ciphertext is bound to its workspace and credential id.
- :mod:`.store`: the workspace-scoped queries, and :func:`.store.credentials_for_run`, which the
  executor calls once per run to put ``credentials`` in the jinja2 scope
  (``{{ credentials.slack_hook }}``) as a :class:`.scope.CredentialScope`.
- Every value is registered with :mod:`pilot.core.redaction` whenever it is created, rotated or
  decrypted, so it is replaced by ``[REDACTED]`` in events, stored rows, responses and logs.
"""
