"""The code-prediction transformer layer: pre-norm self-attention plus a GELU MLP.

Names (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``) follow the official checkpoint.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CodeTransformerLayer(nn.Module):
    """One layer; the position embedding is added to queries and keys, not to values."""

    def __init__(self, embed_dim: int, n_head: int, dim_mlp: int) -> None:
        super().__init__()
        self.self_attn = nn.MultiheadAttention(embed_dim, n_head, dropout=0.0, batch_first=True)
        self.linear1 = nn.Linear(embed_dim, dim_mlp)
        self.linear2 = nn.Linear(dim_mlp, embed_dim)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)

    def forward(self, tokens: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """tokens: (B, L, E); position: (1, L, E)."""
        normed = self.norm1(tokens)
        query_key = normed + position
        attended, _ = self.self_attn(query_key, query_key, normed, need_weights=False)
        tokens = tokens + attended
        return tokens + self.linear2(F.gelu(self.linear1(self.norm2(tokens))))
