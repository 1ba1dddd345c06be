"""Import and export: Dify DSL and n8n workflow JSON to and from πlot workflows.

``POST /api/workflows/import`` and ``GET /api/workflows/{id}/export?format=pilot|dify|n8n`` (and
``pilot import`` / ``pilot export``). Importers map each foreign node to a πlot node where a
faithful mapping exists, translate expressions into πlot's jinja2 references, and keep everything
else as clearly marked placeholders listed in an import report; the result is saved through the
workflow service (one validator, one layout). Exporters write a file the other tool imports.
"""
