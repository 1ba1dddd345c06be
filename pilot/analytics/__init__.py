"""Workflow analytics: run statistics from stored rows and optimisation advice that the chat can apply."""
