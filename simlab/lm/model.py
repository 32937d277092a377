"""A small decoder-only transformer in nanoGPT's shape, with the modifications Srećković et al. 2025
(Srećković et al., arXiv 2506.12543, §5 "Experimental setup") use for their language models:

* rotary position embeddings (RoPE; Su et al. 2021) on queries and keys, no learned positions;
* RMSNorm (Zhang & Sennrich 2019) before attention and before the MLP (pre-norm), and at the end;
* a SwiGLU MLP (Shazeer 2020): W_down(silu(W_gate x) ⊙ W_up x), hidden size ≈ 8/3·d rounded up to 32;
* no bias anywhere; the output head is tied to the token embedding.

Tokens are bytes (vocab 256). ``GPT(config)(idx, targets)`` returns (logits, loss) with loss the mean
next-byte cross-entropy in nats. Sizes: ``ModelConfig.preset("cpu")`` ≈ 0.1M parameters for the
CPU experiments, ``preset("cuda")`` ≈ 13M for the GPU runs.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from simlab import _checks


@dataclass(frozen=True)
class ModelConfig:
    """The one configuration of the model (every size is validated in ``__post_init__``)."""
    block_size: int = 64      # context length in bytes
    vocab_size: int = 256     # byte-level
    n_layer: int = 2
    n_head: int = 4
    n_embd: int = 64
    rope_base: float = 10000.0
    init_std: float = 0.02

    def __post_init__(self):
        _checks.integer("block_size", self.block_size, lo=2)
        _checks.integer("vocab_size", self.vocab_size, lo=2, hi=256)
        _checks.integer("n_layer", self.n_layer, lo=1)
        _checks.integer("n_head", self.n_head, lo=1)
        _checks.integer("n_embd", self.n_embd, lo=2)
        _checks.positive("rope_base", self.rope_base)
        _checks.positive("init_std", self.init_std)
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd={self.n_embd!r} must be a multiple of n_head={self.n_head!r}")
        if (self.n_embd // self.n_head) % 2:
            raise ValueError(f"n_embd/n_head={self.n_embd // self.n_head!r} must be even (RoPE rotates pairs)")

    @property
    def hidden(self) -> int:
        """SwiGLU hidden width: 8/3·n_embd rounded up to a multiple of 32 (LLaMA's rule)."""
        return 32 * math.ceil(8 * self.n_embd / 3 / 32)

    @staticmethod
    def preset(name: str) -> "ModelConfig":
        _checks.choice("preset", name, PRESETS)
        return ModelConfig(**PRESETS[name])

    def config(self) -> dict:
        return asdict(self)


PRESETS = {
    "tiny": dict(block_size=32, n_layer=1, n_head=2, n_embd=32),                  # tests: ~20k params
    "cpu": dict(block_size=64, n_layer=2, n_head=4, n_embd=64),                   # ~0.1M params
    "cuda": dict(block_size=256, n_layer=6, n_head=6, n_embd=384),                # ~11M params
}


class RMSNorm(nn.Module):
    """y = x / sqrt(mean(x²) + eps) · g (no bias, no mean subtraction)."""

    def __init__(self, dim: int, eps: float = 1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(block_size: int, head_dim: int, base: float):
    """cos, sin of the angles t·base^(−2i/head_dim), shape (block_size, head_dim/2)."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.outer(torch.arange(block_size, dtype=torch.float64), inv)
    return ang.cos(), ang.sin()


def apply_rope(x, cos, sin):
    """Rotate consecutive pairs (x_{2i}, x_{2i+1}) of the last axis by the position's angle."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head = cfg.n_head
        self.qkv = nn.Linear(cfg.n_embd, 3 * cfg.n_embd, bias=False)
        self.proj = nn.Linear(cfg.n_embd, cfg.n_embd, bias=False)
        cos, sin = rope_tables(cfg.block_size, cfg.n_embd // cfg.n_head, cfg.rope_base)
        self.register_buffer("cos", cos.float(), persistent=False)
        self.register_buffer("sin", sin.float(), persistent=False)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.n_head, c // self.n_head).transpose(1, 3).unbind(2)
        cos, sin = self.cos[:t].to(q.dtype), self.sin[:t].to(q.dtype)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.proj(y.transpose(1, 2).reshape(b, t, c))


class SwiGLU(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gate = nn.Linear(cfg.n_embd, cfg.hidden, bias=False)
        self.up = nn.Linear(cfg.n_embd, cfg.hidden, bias=False)
        self.down = nn.Linear(cfg.hidden, cfg.n_embd, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1, self.attn = RMSNorm(cfg.n_embd), Attention(cfg)
        self.norm2, self.mlp = RMSNorm(cfg.n_embd), SwiGLU(cfg)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class GPT(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if not isinstance(cfg, ModelConfig):
            raise ValueError(f"cfg={cfg!r} must be a simlab.lm.ModelConfig")
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.embed.weight            # weight tying (nanoGPT)
        for name, p in self.named_parameters():
            if p.dim() == 2:                            # GPT-2 init; residual projections scaled
                std = cfg.init_std / math.sqrt(2 * cfg.n_layer) if name.endswith(("proj.weight", "down.weight")) \
                    else cfg.init_std
                nn.init.normal_(p, 0.0, std)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        if idx.dim() != 2 or idx.shape[1] > self.cfg.block_size:
            raise ValueError(f"idx must have shape (batch, t ≤ {self.cfg.block_size}), got {tuple(idx.shape)}")
        x = self.embed(idx)
        for block in self.blocks:
            x = block(x)
        logits = self.head(self.norm(x))
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.float().view(-1, logits.size(-1)), targets.reshape(-1))
        return logits, loss


def build(cfg: ModelConfig, seed: int, dtype=torch.float32, device="cpu") -> GPT:
    """A fresh model whose initial weights depend only on (cfg, seed) (a private torch.Generator)."""
    seed = _checks.integer("seed", seed, lo=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = GPT(cfg)
    return model.to(device=device, dtype=dtype)
