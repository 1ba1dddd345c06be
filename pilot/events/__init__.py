"""Event streams: typed run events, the event bus (in-memory or Redis), the single-writer
recorder that assigns seq/persists/publishes, and the SSE response builder."""
