"""Turning images into network input and back, and restoring faces."""
