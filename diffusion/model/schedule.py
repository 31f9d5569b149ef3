"""Noise schedules of the forward diffusion process: pure functions (diffusers style).

Notation (Ho, Jain & Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020, arXiv:2006.11239):
timesteps are 0-based, t = 0 … T−1; ``betas[t]`` is β_{t+1} of the paper, α_t = 1 − β_t and
``alphas_cumprod[t]`` = ᾱ_t = Π_{s≤t} α_s. The forward process is
q(x_t | x_0) = N(√ᾱ_t · x_0, (1 − ᾱ_t) · I), sampled by `q_sample`.

- `linear_betas`: β linear from 1e-4 to 0.02 over T = 1000 (Ho et al. 2020, §4).
- `cosine_betas`: ᾱ(t) = f(t)/f(0), f(t) = cos²(((t/T) + s)/(1 + s) · π/2), s = 0.008, β_t =
  1 − ᾱ(t+1)/ᾱ(t) clipped at 0.999 (Nichol & Dhariwal, "Improved Denoising Diffusion Probabilistic
  Models", ICML 2021, arXiv:2102.09672, eq. 17).

Schedules are float64 numpy arrays (the samplers' arithmetic needs the precision near ᾱ → 0 and 1);
`q_sample` is the torch helper the training loop uses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import torch

from device.errors import InputError, ParameterError

SCHEDULE_KINDS = ("linear", "cosine")


def linear_betas(num_timesteps: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> np.ndarray:
    """β_t linear in t from ``beta_start`` to ``beta_end`` inclusive: float64 (T,)."""
    _check_timesteps(num_timesteps)
    if not 0.0 < beta_start <= beta_end < 1.0:
        raise ParameterError(f"need 0 < beta_start <= beta_end < 1, got beta_start={beta_start}, beta_end={beta_end}")
    return np.linspace(beta_start, beta_end, num_timesteps, dtype=np.float64)


def cosine_alpha_bar(t: np.ndarray | float, num_timesteps: int, s: float = 0.008) -> np.ndarray:
    """The closed-form ᾱ(t) = f(t)/f(0) of the cosine schedule at continuous time t ∈ [0, T] (float64)."""

    def f(u):
        return np.cos((np.asarray(u, dtype=np.float64) / num_timesteps + s) / (1.0 + s) * math.pi / 2) ** 2

    return f(t) / f(0.0)


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> np.ndarray:
    """Nichol & Dhariwal's cosine schedule: β_t = min(1 − ᾱ(t+1)/ᾱ(t), max_beta), float64 (T,).

    Where no β is clipped, ``alphas_cumprod(cosine_betas(T))[t] == cosine_alpha_bar(t + 1, T)``.
    """
    _check_timesteps(num_timesteps)
    if not 0.0 <= s < 1.0:
        raise ParameterError(f"cosine offset s must be in [0, 1), got {s}")
    if not 0.0 < max_beta < 1.0:
        raise ParameterError(f"max_beta must be in (0, 1), got {max_beta}")
    steps = np.arange(num_timesteps + 1, dtype=np.float64)
    alpha_bar = cosine_alpha_bar(steps, num_timesteps, s)
    betas = 1.0 - alpha_bar[1:] / alpha_bar[:-1]
    return np.minimum(betas, max_beta)


def alphas_cumprod(betas: np.ndarray) -> np.ndarray:
    """ᾱ_t = Π_{s≤t} (1 − β_s): float64 (T,). Raises ParameterError unless every β is in (0, 1)."""
    betas = np.asarray(betas, dtype=np.float64)
    if betas.ndim != 1 or betas.size == 0:
        raise ParameterError(f"betas must be a non-empty 1-D array, got shape {betas.shape}")
    if not np.all((betas > 0.0) & (betas < 1.0)):
        bad = betas[~((betas > 0.0) & (betas < 1.0))][0]
        raise ParameterError(f"every beta must be in (0, 1), found {bad}")
    return np.cumprod(1.0 - betas)


def q_sample(
    x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alphas_cumprod: np.ndarray | torch.Tensor
) -> torch.Tensor:
    """Draw x_t ~ q(x_t | x_0): √ᾱ_t · x0 + √(1 − ᾱ_t) · noise.

    Args:
        x0: clean images (B, ...) float. t: (B,) integer timesteps in [0, T). noise: like x0, N(0, I).
        alphas_cumprod: ᾱ, (T,) numpy float64 or torch tensor.

    Returns:
        x_t, same shape and dtype as x0. The coefficients are computed in float64 and then cast.
    """
    if noise.shape != x0.shape:
        raise InputError(f"noise shape {tuple(noise.shape)} differs from x0 shape {tuple(x0.shape)}")
    if t.ndim != 1 or t.shape[0] != x0.shape[0]:
        raise InputError(f"t must have shape ({x0.shape[0]},), got {tuple(t.shape)}")
    if t.is_floating_point() or t.dtype == torch.bool:
        raise InputError(f"t must be an integer tensor, got dtype {t.dtype}")
    table = torch.as_tensor(alphas_cumprod, dtype=torch.float64, device=x0.device)
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= table.shape[0]):
        raise InputError(f"timesteps must be in [0, {table.shape[0]}), got range [{int(t.min())}, {int(t.max())}]")
    abar = table[t].reshape((-1,) + (1,) * (x0.ndim - 1))
    return abar.sqrt().to(x0.dtype) * x0 + (1.0 - abar).sqrt().to(x0.dtype) * noise


@dataclass(frozen=True)
class ScheduleConfig:
    """The training noise schedule, stored with every checkpoint and shipped model.

    Attributes:
        kind: ``"linear"`` (Ho et al. 2020) or ``"cosine"`` (Nichol & Dhariwal 2021).
        num_train_timesteps: T, the number of forward steps (1000 in both papers).
        beta_start, beta_end: the linear schedule's end points (1e-4, 0.02).
        cosine_s: the cosine schedule's offset s (0.008), which keeps β_1 from being too small.
        max_beta: clip for cosine β near t = T (0.999).
    """

    kind: str = "cosine"
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    cosine_s: float = 0.008
    max_beta: float = 0.999

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULE_KINDS:
            raise ParameterError(f"schedule kind must be one of {SCHEDULE_KINDS}, got {self.kind!r}")
        _check_timesteps(self.num_train_timesteps)
        self.betas()  # validates the remaining fields through the pure functions

    def betas(self) -> np.ndarray:
        """β_t, float64 (T,)."""
        if self.kind == "linear":
            return linear_betas(self.num_train_timesteps, self.beta_start, self.beta_end)
        return cosine_betas(self.num_train_timesteps, self.cosine_s, self.max_beta)

    def alphas_cumprod(self) -> np.ndarray:
        """ᾱ_t, float64 (T,)."""
        return alphas_cumprod(self.betas())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> ScheduleConfig:
        """Build from a JSON dict; unknown keys raise ParameterError naming them."""
        return _from_dict(cls, data)


def _check_timesteps(num_timesteps: int) -> None:
    if isinstance(num_timesteps, bool) or not isinstance(num_timesteps, (int, np.integer)) or num_timesteps < 2:
        raise ParameterError(f"number of timesteps must be an integer >= 2, got {num_timesteps!r}")


def _from_dict(cls, data: dict):
    if not isinstance(data, dict):
        raise ParameterError(f"{cls.__name__} needs a dict, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ParameterError(f"{cls.__name__} has no field(s) {unknown}")
    return cls(**data)
