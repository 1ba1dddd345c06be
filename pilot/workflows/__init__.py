"""Workflows: the node-graph domain model, its validation, layout, persistence and API."""
