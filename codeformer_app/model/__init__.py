"""The CodeFormer network, written to load the official checkpoint unchanged."""

from .codeformer import CodeFormer, CodeFormerConfig, Encoded

__all__ = ["CodeFormer", "CodeFormerConfig", "Encoded"]
