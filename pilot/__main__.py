"""``python -m pilot`` runs the CLI."""

from pilot.cli import main

main()
