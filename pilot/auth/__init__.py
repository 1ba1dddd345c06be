"""Workspaces and API keys: authentication and tenancy."""
