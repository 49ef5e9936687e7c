"""CodeFormer: VQGAN encoder -> transformer code prediction -> codebook lookup -> decoder with CFT fusion.

Inference is split at the fidelity weight ``w``: :meth:`CodeFormer.encode` computes everything that does not
depend on ``w`` once per face, and :meth:`CodeFormer.decode` turns that into an image for any ``w``. Moving a
fidelity slider therefore only re-runs the decoder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import torch
from torch import nn

from . import runtime
from .fusion import CFTBlock, adain
from .transformer import CodeTransformerLayer
from .vqgan import Encoder, Generator, NearestQuantizer, level_resolutions


@dataclass(frozen=True)
class CodeFormerConfig:
    """Hyperparameters; the defaults are the official release's."""

    dim_embd: int = 512
    n_head: int = 8
    n_layers: int = 9
    codebook_size: int = 1024
    latent_size: int = 256
    connect_list: tuple[int, ...] = (32, 64, 128, 256)
    img_size: int = 512
    nf: int = 64
    ch_mult: tuple[int, ...] = (1, 2, 2, 4, 4, 8)
    res_blocks: int = 2
    attn_resolutions: tuple[int, ...] = (16,)
    emb_dim: int = 256
    beta: float = 0.25

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, fields: dict) -> CodeFormerConfig:
        """From :meth:`to_dict`'s JSON form (lists back to tuples)."""
        return cls(**fields).normalised()

    def normalised(self) -> CodeFormerConfig:
        """The same configuration with every sequence a tuple and the fusion resolutions as sorted ints (the
        official code spells them as strings: ``['32', '64']``)."""
        return replace(
            self,
            connect_list=tuple(sorted(int(r) for r in self.connect_list)),
            ch_mult=tuple(self.ch_mult),
            attn_resolutions=tuple(self.attn_resolutions),
        )

    @property
    def latent_side(self) -> int:
        return self.img_size // 2 ** (len(self.ch_mult) - 1)


@dataclass(frozen=True, eq=False)
class Encoded:
    """Everything about one batch of faces that does not depend on the fidelity weight."""

    lq_feat: torch.Tensor
    """Encoder latent grid of the degraded input, (B, emb_dim, h, w)."""
    indices: torch.Tensor
    """Codebook index predicted by the transformer for each latent position, (B, h*w)."""
    skips: dict[int, torch.Tensor] = field(repr=False)
    """Encoder features at each fusion resolution."""
    decoder_head: torch.Tensor = field(repr=False)
    """Generator activations just before its first fusion point (they do not depend on ``w`` either)."""
    logits: torch.Tensor | None = field(default=None, repr=False)
    """The transformer's code logits (B, h*w, codebook_size), kept only when asked for (training)."""
    fusion_terms: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)
    """Per fusion resolution, the encoder features' share of the fusion block (``CFTBlock.encoder_term``); kept
    on the fast path when asked for, so that a slider change does not compute it again."""
    head_change: torch.Tensor | None = field(default=None, repr=False)
    """What the first fusion block adds to ``decoder_head`` at ``w = 1`` (``CFTBlock.change``), kept with the
    fusion terms: the head does not depend on ``w``, so neither does this, and a render at ``w`` starts from
    ``decoder_head + w * head_change``."""

    @property
    def batch_size(self) -> int:
        return self.lq_feat.shape[0]

    def select(self, index: int) -> Encoded:
        """The encoding of one face of the batch, still with a batch dimension of 1."""
        pick = slice(index, index + 1)
        return Encoded(
            lq_feat=self.lq_feat[pick],
            indices=self.indices[pick],
            skips={r: f[pick] for r, f in self.skips.items()},
            decoder_head=self.decoder_head[pick],
            logits=None if self.logits is None else self.logits[pick],
            fusion_terms={r: t[pick] for r, t in self.fusion_terms.items()},
            head_change=None if self.head_change is None else self.head_change[pick],
        )


class CodeFormer(nn.Module):
    """The CodeFormer network; ``load_state_dict`` accepts the official ``params_ema`` state dict."""

    def __init__(self, config: CodeFormerConfig = CodeFormerConfig()) -> None:
        super().__init__()
        config = config.normalised()
        _check_config(config)
        self.config = config

        c = config
        self.encoder = Encoder(3, c.nf, c.emb_dim, c.ch_mult, c.res_blocks, c.img_size, c.attn_resolutions)
        self.quantize = NearestQuantizer(c.codebook_size, c.emb_dim, c.beta)
        self.generator = Generator(c.nf, c.emb_dim, c.ch_mult, c.res_blocks, c.img_size, c.attn_resolutions)

        self.position_emb = nn.Parameter(torch.zeros(c.latent_size, c.dim_embd))
        self.feat_emb = nn.Linear(c.emb_dim, c.dim_embd)
        self.ft_layers = nn.Sequential(
            *(CodeTransformerLayer(c.dim_embd, c.n_head, dim_mlp=2 * c.dim_embd) for _ in range(c.n_layers))
        )
        self.idx_pred_layer = nn.Sequential(
            nn.LayerNorm(c.dim_embd), nn.Linear(c.dim_embd, c.codebook_size, bias=False)
        )

        channels_at = dict(zip(level_resolutions(c.img_size, len(c.ch_mult)), c.ch_mult, strict=True))
        self.fuse_convs_dict = nn.ModuleDict({str(r): CFTBlock(c.nf * channels_at[r]) for r in c.connect_list})
        fusion_indices = [self.generator.fusion_points[r] for r in config.connect_list]
        # Generator blocks up to and including this index do not depend on w.
        self._w_free_generator_stop = min(fusion_indices) + 1 if fusion_indices else len(self.generator.blocks)
        #: How convolutions run in encode/decode; not part of the architecture or the checkpoint.
        self.precision = runtime.Precision.FAST

    # -- pieces --------------------------------------------------------------------------------------
    def predict_logits(self, lq_feat: torch.Tensor) -> torch.Tensor:
        """Encoder latent (B, C, h, w) -> code logits (B, h*w, codebook_size)."""
        tokens = self.feat_emb(lq_feat.flatten(2).transpose(1, 2))
        position = self.position_emb.unsqueeze(0)
        for layer in self.ft_layers:
            tokens = layer(tokens, position)
        return self.idx_pred_layer(tokens)

    def _fuse(self, encoded: Encoded, w: float):
        def fuse(resolution: int, dec_feat: torch.Tensor) -> torch.Tensor:
            key = str(resolution)
            if w <= 0 or key not in self.fuse_convs_dict:
                return dec_feat
            # detached as in the official code: in training the encoder learns through the codes, not the fusion
            block = self.fuse_convs_dict[key]
            return block(encoded.skips[resolution].detach(), dec_feat, w, encoded.fusion_terms.get(resolution))

        return fuse

    # -- the two halves of a forward pass ------------------------------------------------------------
    # Neither applies torch.inference_mode: the pipeline wraps its calls in it, and training calls the same
    # methods with gradients (the Winograd fast path switches itself off under autograd).
    def encode(
        self, x: torch.Tensor, adain_codes: bool = True, keep_logits: bool = False, keep_fusion_terms: bool = False
    ) -> Encoded:
        """Faces (B, 3, S, S) in [-1, 1], RGB -> everything that does not depend on the fidelity weight.

        ``adain_codes``: give the looked-up code features the channel statistics of the encoder's latent (the
        official inference; its inpainting script turns it off). ``keep_logits`` keeps the transformer's code
        logits (for training's cross-entropy). ``keep_fusion_terms`` keeps, on the fast path, the part of each fusion
        block that depends on the encoder only (``Encoded.fusion_terms``): worth it for a face rendered at several
        fidelities (the slider, automatic fidelity).
        """
        _check_input(x, self.config.img_size)
        param = self.position_emb
        x = x.to(device=param.device, dtype=param.dtype)
        with runtime.inference(runtime.Precision(self.precision), param.device):
            lq_feat, skips = self.encoder(x, self.config.connect_list)
            logits = self.predict_logits(lq_feat)
            indices = logits.argmax(dim=2)
            side = self.config.latent_side
            # A lookup has no gradient; detached as in the official code, so no gradient reaches the encoder
            # through the AdaIN statistics either.
            quant_feat = self.quantize.lookup(indices, (side, side)).detach()
            if adain_codes:
                quant_feat = adain(quant_feat, lq_feat.detach())
            head = self.generator.run(quant_feat, stop=self._w_free_generator_stop)
            fusion_terms: dict[int, torch.Tensor] = {}
            head_change = None
            if keep_fusion_terms and runtime.fast_kernels():
                first = self._head_fusion_resolution()
                if first is not None:
                    head_change = self.fuse_convs_dict[str(first)].change(skips[first], head)
                for r in self.config.connect_list:
                    if r != first:
                        fusion_terms[r] = self.fuse_convs_dict[str(r)].encoder_term(skips[r])
        return Encoded(
            lq_feat=lq_feat,
            indices=indices,
            skips=skips,
            decoder_head=head,
            logits=logits if keep_logits else None,
            fusion_terms=fusion_terms,
            head_change=head_change,
        )

    def _head_fusion_resolution(self) -> int | None:
        """The fusion resolution right after which ``decoder_head`` stops, if the head ends at a fusion block."""
        for resolution, index in self.generator.fusion_points.items():
            if index == self._w_free_generator_stop - 1 and str(resolution) in self.fuse_convs_dict:
                return resolution
        return None

    def decode(self, encoded: Encoded, w: float, clamp: bool = True) -> torch.Tensor:
        """Render faces at fidelity ``w`` in [0, 1] (0: strongest restoration, 1: closest to the input).

        Returns RGB images, shape (B, 3, S, S), contiguous; clamped to [-1, 1] unless ``clamp=False`` (training
        takes the raw output, as the official losses do).
        """
        if not 0.0 <= w <= 1.0:
            raise ValueError(f"fidelity weight w must be within [0, 1], got {w}")
        fuse = self._fuse(encoded, w)
        start = self._w_free_generator_stop
        x = encoded.decoder_head
        fusion_at = {i: r for r, i in self.generator.fusion_points.items()}
        with runtime.inference(runtime.Precision(self.precision), x.device):
            if encoded.head_change is not None and runtime.fast_kernels():  # kept by a fast-path encode
                x = torch.add(x, encoded.head_change, alpha=w) if w > 0 else x
            elif start - 1 in fusion_at:  # the head stops right after the first fusion point
                x = fuse(fusion_at[start - 1], x)
            out = self.generator.run(x, start=start, fuse=fuse)
        return (out.clamp(-1.0, 1.0) if clamp else out).contiguous()

    def forward(self, x: torch.Tensor, w: float = 0.5) -> torch.Tensor:
        """Same as ``decode(encode(x), w)``."""
        return self.decode(self.encode(x), w)


def _check_config(config: CodeFormerConfig) -> None:
    resolutions = level_resolutions(config.img_size, len(config.ch_mult))
    if config.latent_side**2 != config.latent_size:
        raise ValueError(
            f"latent_size {config.latent_size} does not match the latent grid "
            f"{config.latent_side}x{config.latent_side} of img_size {config.img_size} and ch_mult {config.ch_mult}"
        )
    for r in config.connect_list:
        if r not in resolutions:
            raise ValueError(f"connect_list resolution {r} is not one of the decoder's levels {resolutions}")
        if r in config.attn_resolutions:
            raise ValueError(f"fusion at an attention resolution ({r}) is not supported")
    if config.dim_embd % config.n_head:
        raise ValueError(f"dim_embd {config.dim_embd} is not divisible by n_head {config.n_head}")


def _check_input(x: torch.Tensor, img_size: int) -> None:
    if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] != img_size or x.shape[3] != img_size:
        raise ValueError(f"expected faces of shape (B, 3, {img_size}, {img_size}), got {tuple(x.shape)}")
