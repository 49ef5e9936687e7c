"""Developer scripts that are not part of the app (screenshots)."""
