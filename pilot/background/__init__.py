"""Background runs: arq worker, Redis Streams event bus, cross-process cancel, crash sweeper."""
