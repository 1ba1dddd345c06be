"""Cross-cutting pieces shared by every domain: errors, JSON codecs, time and id helpers."""
