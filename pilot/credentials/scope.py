"""``credentials`` in a run's jinja2 scope: a read-only, name → value lookup.

``{{ credentials.slack_hook }}`` and ``{{ credentials['slack_hook'] }}`` give the value;
``{% if 'slack_hook' in credentials %}`` tests for one. A name the workspace does not have (or
whose value no longer decrypts) raises :class:`CredentialError` naming it, although the render
environment is otherwise lenient (a missing *input* renders empty): a webhook URL that silently
renders as "" would fail far from its cause, or not at all. The error is a
``jinja2.UndefinedError``, so :mod:`pilot.core.templating` turns it into a ``TemplateError`` and
the node fails with a ``NodeError`` naming the field and the credential.

Not a ``dict``: every name must be a credential (``credentials.items`` is the credential named
``items``, not ``dict.items``: the class has no public attributes, so jinja2's attribute lookup
falls back to ``__getitem__``), the whole mapping is not a JSON value (``{{ credentials }}``
renders only the names, and as an expression fails), and it pickles (heavy renders run in render
processes with a pickled scope).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import jinja2


class CredentialError(jinja2.UndefinedError):
    """A template referred to a credential that cannot be used (unknown name, undecryptable)."""

    def __init__(self, name: str, problem: str | None = None) -> None:
        self.name = name
        self.problem = problem
        if problem is None:
            message = f"unknown credential {name!r}: this workspace has no credential of that name"
        else:
            message = f"credential {name!r} cannot be used: {problem}"
        super().__init__(message)

    def __reduce__(self):  # pickles with its own arguments (render processes)
        return (CredentialError, (self.name, self.problem))


class CredentialScope:
    """The decrypted credentials of one workspace for one run (values never in ``repr``)."""

    __slots__ = ("_CredentialScope__values", "_CredentialScope__broken")

    def __init__(self, values: Mapping[str, str] | None = None, broken: Mapping[str, str] | None = None) -> None:
        self.__values = dict(values or {})
        self.__broken = dict(broken or {})  # name -> why its value is unavailable

    def __getitem__(self, name: str) -> str:
        try:
            return self.__values[name]
        except (KeyError, TypeError):
            raise CredentialError(str(name), self.__broken.get(name) if isinstance(name, str) else None) from None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.__values

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.__values))

    def __len__(self) -> int:
        return len(self.__values)

    def __reduce__(self):
        return (CredentialScope, (self.__values, self.__broken))

    def __repr__(self) -> str:
        return f"<credentials: {', '.join(sorted(self.__values)) or 'none'}>"

    __str__ = __repr__
