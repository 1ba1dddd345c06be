"""Triggers: schedules, webhooks and forms that start runs by themselves (see service.py)."""
