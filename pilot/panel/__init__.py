"""The reference πlot panel page served at ``/panel`` (static files, no build step)."""
