"""The denoising network: a small U-Net ε-predictor for 28 × 28 images, built for crossbars.

Architecture: the DDPM U-Net (Ho et al. 2020, arXiv:2006.11239, Appendix B; itself PixelCNN++-style
wide-ResNet blocks) without attention, as used for small images in many reimplementations:

    t ─ sinusoidal(base) ─ Linear ─ SiLU ─ Linear ──────────────────────┐ temb (B, time_embed_dim)
    x (B,1,28,28) ─ Conv3×3 ─ [ResBlock × num_res_blocks, Down]/level ─ ResBlock ResBlock (middle)
                 ─ [ResBlock(cat skip) × (num_res_blocks+1), Up]/level ─ GroupNorm SiLU Conv3×3 ─ ε̂

ResBlock: GroupNorm → SiLU → Conv3×3 → + Linear(SiLU(temb)) → GroupNorm → SiLU → Dropout →
Conv3×3, plus the input (through a 1×1 Conv2d when the channel count changes). Down: Conv3×3 with
stride 2 (28 → 14 → 7). Up: nearest-neighbour ×2 then Conv3×3. Skips are concatenated.

Chip constraint: the only layers are Conv2d (groups = 1, dilation = 1), Linear,
GroupNorm, SiLU, Dropout, nearest upsampling, concatenation and addition — no attention,
ConvTranspose or BatchNorm — so every weight layer is a matrix product a crossbar can hold (a
convolution via im2col). `iter_weight_layers` lists those layers in the order forward() runs them;
modules are registered in that order so the chip backend can program and run them in sequence.
The last conv of every ResBlock and the output conv start at zero (Nichol & Dhariwal 2021), so an
untrained network predicts ε̂ = 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from device.errors import InputError, ParameterError


@dataclass(frozen=True)
class UNetConfig:
    """Shape of the U-Net; stored with every checkpoint and shipped model (nanoGPT's GPTConfig).

    Attributes:
        image_size: input height = width, pixels (28). Must be divisible by 2^(levels − 1).
        in_channels: image channels (1, grayscale); also the output channels (ε has the image shape).
        base_channels: channels of the first level.
        channel_mults: channels of level i = base_channels · channel_mults[i]; one level per entry,
            each but the last halves the resolution.
        num_res_blocks: ResBlocks per level on the way down (the way up has one more).
        time_embed_dim: width of the time-embedding MLP (its input is `base_channels` sinusoids).
        norm_groups: GroupNorm groups; must divide every level's channel count.
        dropout: dropout probability inside ResBlocks (0 disables it).
    """

    image_size: int = 28
    in_channels: int = 1
    base_channels: int = 16
    channel_mults: tuple[int, ...] = (1, 2, 4)
    num_res_blocks: int = 2
    time_embed_dim: int = 128
    norm_groups: int = 8
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("image_size", "in_channels", "base_channels", "num_res_blocks", "time_embed_dim", "norm_groups"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"UNetConfig.{name} must be a positive integer, got {value!r}")
        mults = self.channel_mults
        if (
            not isinstance(mults, tuple)
            or not mults
            or any(isinstance(m, bool) or not isinstance(m, int) or m < 1 for m in mults)
        ):
            raise ParameterError(f"UNetConfig.channel_mults must be a non-empty tuple of positive ints, got {mults!r}")
        factor = 2 ** (len(mults) - 1)
        if self.image_size % factor:
            raise ParameterError(
                f"UNetConfig.image_size {self.image_size} is not divisible by 2^(levels-1) = {factor} "
                f"for channel_mults {mults}"
            )
        if self.base_channels % 2:
            raise ParameterError(f"UNetConfig.base_channels must be even (sin/cos pairs), got {self.base_channels}")
        for channels in self.channels:
            if channels % self.norm_groups:
                raise ParameterError(f"UNetConfig.norm_groups {self.norm_groups} does not divide {channels} channels")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ParameterError(f"UNetConfig.dropout must be in [0, 1), got {self.dropout!r}")

    @property
    def channels(self) -> tuple[int, ...]:
        """Channels per level."""
        return tuple(self.base_channels * m for m in self.channel_mults)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["channel_mults"] = list(self.channel_mults)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> UNetConfig:
        """Build from a JSON dict (lists become tuples); unknown keys raise ParameterError naming them."""
        if not isinstance(data, dict):
            raise ParameterError(f"UNetConfig needs a dict, got {type(data).__name__}")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ParameterError(f"UNetConfig has no field(s) {unknown}")
        data = dict(data)
        if isinstance(data.get("channel_mults"), list):
            data["channel_mults"] = tuple(data["channel_mults"])
        return cls(**data)


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """Sinusoidal embedding (Vaswani et al. 2017, as in DDPM): (B,) timesteps → (B, dim) float32.

    Row b is [sin(t_b·ω_0) … sin(t_b·ω_{h−1}), cos(t_b·ω_0) … cos(t_b·ω_{h−1})], ω_i = max_period^(−i/h),
    h = dim / 2.
    """
    half = dim // 2
    freqs = torch.exp(torch.arange(half, dtype=torch.float32, device=t.device) * (-math.log(max_period) / half))
    args = t.to(torch.float32)[:, None] * freqs[None, :]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


@torch.fx.wrap
def _check_inputs(x: torch.Tensor, t: torch.Tensor, in_channels: int, image_size: int) -> None:
    """Validate forward()'s arguments (kept out of FX traces as one opaque call)."""
    expected = (in_channels, image_size, image_size)
    if x.ndim != 4 or tuple(x.shape[1:]) != expected:
        raise InputError(f"x must have shape (B, {in_channels}, {image_size}, {image_size}), got {tuple(x.shape)}")
    if not x.is_floating_point():
        raise InputError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if t.ndim != 1 or t.shape[0] != x.shape[0]:
        raise InputError(f"t must have shape ({x.shape[0]},), got {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.bool or t.is_complex():
        raise InputError(f"t must be an integer tensor of timesteps, got dtype {t.dtype}")


class ResBlock(nn.Module):
    """Wide-ResNet block with an additive time projection: (B, c_in, H, W), (B, E) → (B, c_out, H, W)."""

    def __init__(self, c_in: int, c_out: int, time_embed_dim: int, groups: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.act1 = nn.SiLU()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time_act = nn.SiLU()
        self.time_proj = nn.Linear(time_embed_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.act2 = nn.SiLU()
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act1(self.norm1(x)))
        h = h + self.time_proj(self.time_act(temb))[:, :, None, None]
        h = self.conv2(self.dropout(self.act2(self.norm2(h))))
        return self.skip(x) + h


class Downsample(nn.Module):
    """Stride-2 3×3 convolution: (B, c, H, W) → (B, c, H/2, W/2)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Upsample(nn.Module):
    """Nearest-neighbour ×2 then 3×3 convolution: (B, c, H, W) → (B, c, 2H, 2W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class UNet(nn.Module):
    """ε-predictor: forward(x (B, C, S, S) float, t (B,) int64 in [0, T)) → ε̂ (B, C, S, S).

    Weight initialisation draws from torch's global generator; build it inside
    ``torch.random.fork_rng()`` after ``torch.manual_seed`` for a reproducible model.
    """

    def __init__(self, config: UNetConfig) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        e, g, p = config.time_embed_dim, config.norm_groups, config.dropout
        self.time_mlp = nn.Sequential(nn.Linear(config.base_channels, e), nn.SiLU(), nn.Linear(e, e))
        self.stem = nn.Conv2d(config.in_channels, c[0], 3, padding=1)

        self.down = nn.ModuleList()
        skip_channels = [c[0]]
        current = c[0]
        for level, channels in enumerate(c):
            for _ in range(config.num_res_blocks):
                self.down.append(ResBlock(current, channels, e, g, p))
                current = channels
                skip_channels.append(current)
            if level < len(c) - 1:
                self.down.append(Downsample(current))
                skip_channels.append(current)

        self.mid1 = ResBlock(current, current, e, g, p)
        self.mid2 = ResBlock(current, current, e, g, p)

        self.up = nn.ModuleList()
        for level in reversed(range(len(c))):
            for _ in range(config.num_res_blocks + 1):
                self.up.append(ResBlock(current + skip_channels.pop(), c[level], e, g, p))
                current = c[level]
            if level > 0:
                self.up.append(Upsample(current))

        self.out_norm = nn.GroupNorm(g, current)
        self.out_act = nn.SiLU()
        self.out_conv = nn.Conv2d(current, config.in_channels, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        _check_inputs(x, t, self.config.in_channels, self.config.image_size)
        temb = self.time_mlp(timestep_embedding(t, self.config.base_channels))
        h = self.stem(x)
        skips = [h]
        for block in self.down:
            h = block(h, temb) if isinstance(block, ResBlock) else block(h)
            skips.append(h)
        h = self.mid2(self.mid1(h, temb), temb)
        for block in self.up:
            if isinstance(block, ResBlock):
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
            else:
                h = block(h)
        return self.out_conv(self.out_act(self.out_norm(h)))


def iter_weight_layers(model: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """(qualified name, module) of every Conv2d and Linear, in the order forward() runs them.

    For `UNet` registration order is forward order (tests/diffusion/model/test_unet.py checks it with hooks).
    """
    for name, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            yield name, module


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters (all, or only those with requires_grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
