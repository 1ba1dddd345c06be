"""Agents: the ``agent`` node's tool-calling loop, the tools it can call, saved agent definitions."""
