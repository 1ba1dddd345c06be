"""πlot backend: turns natural-language requests into validated, runnable AI-agent workflows."""

__version__ = "0.1.0"
