"""CodeFormer App: restore faces in photos with CodeFormer."""

__version__ = "0.4.0"
