"""Data tables: workspace-scoped typed tables stored in πlot's own database (API, ``table`` tool,
``table:<id>`` agent functions). See :mod:`pilot.tables.store` and :mod:`pilot.tables.values`."""

# Importing the package registers the ``table:`` agent resolver (pilot.agents.toolset.RESOLVER_MODULES).
from pilot.tables import tool as _tool  # noqa: E402,F401
