"""Timestep respacing: sample with S ≤ T steps of a model trained with T steps.

Pure functions over the training schedule's ᾱ (``alphas_cumprod``, 1-D float64, length T, index t =
0…T−1 is training timestep t). A sampler keeps S training timesteps t_0 < t_1 < … < t_{S−1} and runs
the diffusion process that only visits them. Its betas follow from ᾱ of the kept steps
(Nichol & Dhariwal 2021, "Improved DDPM", §4):

    β'_i = 1 − ᾱ_{t_i} / ᾱ_{t_{i−1}},   with ᾱ_{t_{−1}} = 1, so β'_0 = 1 − ᾱ_{t_0}.

With S = T every step is kept and β' equals the training betas.

Spacings (which S of the T steps are kept):

* ``"trailing"`` (default): t_k = round(k·T/S) − 1 for k = 1…S. Always keeps t = T − 1, the step the
  training noise actually reaches, so x_T ~ N(0, I) matches the first step's marginal
  (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps are Flawed", §3.4; the
  diffusers ``timestep_spacing="trailing"``). The last kept step is round(T/S) − 1.
* ``"linspace"``: t_k = round(k·(T−1)/(S−1)) for k = 0…S−1: keeps both t = 0 and t = T − 1. For S = 1
  it keeps t = T − 1 (a one-step sampler must start from pure noise).

Rounding is half-up in integer arithmetic, so the kept steps are exact, strictly increasing and
distinct for every 1 ≤ S ≤ T.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import numpy as np

from device.errors import InputError

SPACINGS = ("trailing", "linspace")


def check_alphas_cumprod(alphas_cumprod) -> np.ndarray:
    """A validated read-only float64 copy of a training schedule's ᾱ (the caller's array is untouched).

    ᾱ must be 1-D, non-empty, finite, inside (0, 1) and strictly decreasing (every β_t > 0).
    """
    a = np.array(alphas_cumprod, dtype=np.float64, copy=True)
    if a.ndim != 1 or a.size == 0:
        raise InputError(f"alphas_cumprod must be a non-empty 1-D array, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"alphas_cumprod must be finite, got {a[~np.isfinite(a)][:3]!r}")
    if not (np.all(a > 0.0) and np.all(a < 1.0)):
        bad = a[(a <= 0.0) | (a >= 1.0)][:3]
        raise InputError(f"alphas_cumprod must lie in (0, 1), got values {bad!r}")
    if a.size > 1 and not np.all(np.diff(a) < 0.0):
        i = int(np.argmax(np.diff(a) >= 0.0))
        raise InputError(f"alphas_cumprod must be strictly decreasing, got ᾱ[{i}]={a[i]!r} ≤ ᾱ[{i + 1}]={a[i + 1]!r}")
    a.setflags(write=False)
    return a


def check_num_steps(num_steps, num_train_timesteps: int) -> int:
    """``num_steps`` as an int in [1, T]; InputError naming the value otherwise."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)):
        raise InputError(f"num_steps must be an integer, got {num_steps!r}")
    if not 1 <= int(num_steps) <= num_train_timesteps:
        raise InputError(f"num_steps must be in [1, {num_train_timesteps}] (the training steps), got {num_steps}")
    return int(num_steps)


def spaced_timesteps(num_train_timesteps: int, num_steps: int, spacing: str = "trailing") -> np.ndarray:
    """The S kept training timesteps, ascending int64 (see the module docstring for the spacings)."""
    T = int(num_train_timesteps)
    if T < 1:
        raise InputError(f"num_train_timesteps must be ≥ 1, got {num_train_timesteps!r}")
    S = check_num_steps(num_steps, T)
    if spacing not in SPACINGS:
        raise InputError(f"spacing must be one of {SPACINGS}, got {spacing!r}")
    k = np.arange(1, S + 1, dtype=np.int64) if spacing == "trailing" else np.arange(S, dtype=np.int64)
    if spacing == "trailing":
        kept = (2 * T * k + S) // (2 * S) - 1  # round-half-up(k·T/S) − 1
    elif S == 1:
        kept = np.array([T - 1], dtype=np.int64)
    else:
        kept = (2 * (T - 1) * k + (S - 1)) // (2 * (S - 1))  # round-half-up(k·(T−1)/(S−1))
    return kept.astype(np.int64)


def respaced_betas(alphas_cumprod, timesteps) -> np.ndarray:
    """β'_i = 1 − ᾱ_{t_i}/ᾱ_{t_{i−1}} (ᾱ_{t_{−1}} = 1) for ascending kept ``timesteps``; float64."""
    a = check_alphas_cumprod(alphas_cumprod)
    t = np.asarray(timesteps)
    if t.ndim != 1 or t.size == 0 or not np.issubdtype(t.dtype, np.integer):
        raise InputError(f"timesteps must be a non-empty 1-D integer array, got {t!r}")
    if t[0] < 0 or t[-1] >= a.size or (t.size > 1 and not np.all(np.diff(t) > 0)):
        raise InputError(f"timesteps must be strictly increasing within [0, {a.size - 1}], got {t!r}")
    kept = a[t]
    prev = np.concatenate(([1.0], kept[:-1]))
    return 1.0 - kept / prev


@dataclass(frozen=True, eq=False)
class Respacing:
    """The kept steps of one ``set_timesteps`` call, all arrays in sampling (descending) order.

    Attributes:
        timesteps: kept training timesteps, descending int64 (t_{S−1} … t_0).
        alphas_cumprod: ᾱ at those steps.
        alphas_cumprod_prev: ᾱ of the step each one leads to; 1 after the last (the clean sample).
        betas: the respaced β' = 1 − ᾱ/ᾱ_prev.
    """

    timesteps: np.ndarray
    alphas_cumprod: np.ndarray
    alphas_cumprod_prev: np.ndarray
    betas: np.ndarray

    def index(self, t) -> int:
        """Position of training timestep ``t`` (int or integer 0-d tensor) in ``timesteps``."""
        try:
            ti = operator.index(t)
        except TypeError:
            raise InputError(f"t must be an integer timestep, got {t!r}") from None
        pos = np.flatnonzero(self.timesteps == ti)
        if pos.size == 0:
            raise InputError(
                f"t={ti} is not one of the {self.timesteps.size} kept timesteps "
                f"({self.timesteps[0]} … {self.timesteps[-1]}); call set_timesteps first"
            )
        return int(pos[0])

    def is_last(self, t) -> bool:
        """Whether ``t`` is the final step (the one that returns the clean-sample estimate)."""
        return self.index(t) == self.timesteps.size - 1


def respace(alphas_cumprod, num_steps, spacing: str = "trailing") -> Respacing:
    """Keep ``num_steps`` of the training schedule's steps (``spacing``) and respace the betas."""
    a = check_alphas_cumprod(alphas_cumprod)
    kept = spaced_timesteps(a.size, num_steps, spacing)
    betas = respaced_betas(a, kept)
    acp = a[kept]
    acp_prev = np.concatenate(([1.0], acp[:-1]))
    out = [x[::-1].copy() for x in (kept, acp, acp_prev, betas)]
    for x in out:
        x.setflags(write=False)
    return Respacing(*out)


class RespacedSampler:
    """What DDPM and DDIM share: the training schedule, its respacing, and the x̂_0 estimate."""

    def __init__(self, alphas_cumprod, clip_sample: bool = True, spacing: str = "trailing"):
        self.alphas_cumprod = check_alphas_cumprod(alphas_cumprod)
        self.num_train_timesteps = int(self.alphas_cumprod.size)
        self.clip_sample = bool(clip_sample)
        self.spacing = spacing
        self.set_timesteps(self.num_train_timesteps)

    def set_timesteps(self, num_steps: int) -> None:
        """Keep ``num_steps`` training steps; ``self.timesteps`` is then their descending array."""
        self.respacing: Respacing = respace(self.alphas_cumprod, num_steps, self.spacing)
        self.timesteps = self.respacing.timesteps

    @property
    def num_steps(self) -> int:
        return int(self.timesteps.size)

    def predict_x0(self, model_output, t, sample):
        """The clean-sample estimate x̂_0 = (x_t − √(1−ᾱ)·ε)/√ᾱ at ``t`` (clipped if ``clip_sample``)."""
        check_same_shape(model_output, sample, "model_output")
        a = float(self.respacing.alphas_cumprod[self.respacing.index(t)])
        x0 = (sample - math.sqrt(1.0 - a) * model_output) / math.sqrt(a)
        return x0.clamp(-1.0, 1.0) if self.clip_sample else x0


def check_same_shape(x, sample, name: str) -> None:
    """``x`` must have ``sample``'s shape (tensors), else InputError naming ``name``."""
    if tuple(x.shape) != tuple(sample.shape):
        raise InputError(f"{name} must have the sample's shape {tuple(sample.shape)}, got {tuple(x.shape)}")
