"""Identity and tenancy: workspaces, API keys (service accounts), users, login sessions, roles and the guard."""
