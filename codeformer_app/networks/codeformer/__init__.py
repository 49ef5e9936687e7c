"""The CodeFormer family (restoration, colorization, inpainting), written to load the official checkpoints
unchanged: the network (``codeformer.py`` and its parts), its variants (``variants.py``), how it runs fast on
a CPU (``runtime.py``) and how it is recognised and built from a state dict (``load.py``)."""

from .codeformer import CodeFormer, CodeFormerConfig, Encoded

__all__ = ["CodeFormer", "CodeFormerConfig", "Encoded"]
