"""The workflow template library: ``templates/*.yaml`` loaded, validated and instantiated.

Public entry points: :class:`~pilot.templates.catalog.TemplateCatalog`,
:func:`~pilot.templates.catalog.default_catalog` and the Structs in :mod:`pilot.templates.schemas`.
"""
