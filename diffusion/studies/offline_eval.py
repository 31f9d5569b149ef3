"""Offline quality of one configuration: generate N images, score them against reference statistics.

Shared by `spindiff eval` and the studies (`diffusion.studies.quality_study`, `paired_study`). A
configuration is an `Evaluation`: one `diffusion.generation.generate.GenerationRequest` (profile —
``"software"``, a preset name, or a `device.profiles.HardwareProfile` with overrides —, sampler
settings, seeds, noise source; its ``num_images`` is the batch size) and the number of images N.
Images are generated in batches whose seeds are ``seed + first index`` of the batch, so two
configurations with the same seed start from the same noise (torch noise: the same values for
every profile; MTJ noise: each chip's own array, reseeded the same way). FID uses all N images against the
reference μ, Σ (its bias at small N is the same for every configuration at that N, so compare FIDs
only at one N); KID is unbiased and reported as mean ± std over subsets.

`epsilon_error` is a cheap fidelity probe that needs no FID: the relative error of the chip's ε
prediction against the software network on the same noisy inputs. `generate_with_epsilon_error` is
its counterpart on the software side: the software sampler with a random error of a chosen relative
size added to every ε prediction, which tells how much ε error the sampler tolerates (docs/quality.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from device.errors import InputError
from device.seed_salts import Salt
from diffusion.generation import images as image_io
from diffusion.generation.generate import SOFTWARE, GenerationRequest, generate, get_chip_network, make_sampler
from diffusion.generation.loop import sample
from diffusion.generation.noise import TorchNoise


@dataclass(frozen=True)
class Evaluation:
    """One row of an evaluation: ``n`` images of one generation request, made a batch at a time.

    ``request`` is the first batch: its ``num_images`` is the batch size, its ``seed`` the first
    batch's seed, and everything else (profile, sampler, steps, η, chip seed, noise source) is what
    every batch runs with, validated by `GenerationRequest` itself. The batch whose first image is
    ``start`` is the same request with seed ``request.seed + start``, the last one cut to fit ``n``.
    """

    label: str
    request: GenerationRequest
    n: int = 1000

    def __post_init__(self) -> None:
        if not isinstance(self.request, GenerationRequest):
            raise InputError(f"request must be a GenerationRequest, got {type(self.request).__name__}")
        if isinstance(self.n, bool) or not isinstance(self.n, int) or self.n < 1:
            raise InputError(f"n must be a positive integer, got {self.n!r}")

    @property
    def batch(self) -> int:
        """Images per batch: the request's ``num_images``."""
        return self.request.num_images

    def batch_request(self, start: int) -> GenerationRequest:
        """The request of the batch whose first image is ``start`` (seed + first index; the last batch cut to fit)."""
        return replace(self.request, num_images=min(self.batch, self.n - start), seed=self.request.seed + start)


ProgressFactory = Callable[[str], Callable[[int, int, object], None] | None]


def tqdm_step_progress(total_steps: int) -> ProgressFactory:
    """A `ProgressFactory` drawing one transient tqdm bar per batch on stderr (closed after it)."""
    import sys

    from tqdm import tqdm

    def factory(label: str):
        bar = tqdm(total=total_steps, desc=label, file=sys.stderr, leave=False)

        def update(done, _total, _x0):
            bar.update(done - bar.n)

        update.close = bar.close
        return update

    return factory


def generate_images(
    evaluation: Evaluation, bundle, chip_cache: dict | None = None, progress: ProgressFactory | None = None
):
    """All N images of ``evaluation`` → (uint8 (N, 28, 28), energy per image in J or None, seconds).

    ``progress(label)`` may return a per-batch ``callback(step, total, x0)``; None for silence.
    """
    batches, energy, started = [], 0.0, time.perf_counter()
    for start in range(0, evaluation.n, evaluation.batch):
        request = evaluation.batch_request(start)
        callback = progress(f"{evaluation.label} {start + request.num_images}/{evaluation.n}") if progress else None
        try:
            result = generate(request, bundle, progress=callback, chip_cache=chip_cache)
        finally:
            if callback is not None and hasattr(callback, "close"):
                callback.close()
        batches.append(result.images)
        energy += result.telemetry["energy"].get("energy_total_j", 0.0)
    seconds = time.perf_counter() - started
    hardware = evaluation.request.hardware
    return np.concatenate(batches), (energy / evaluation.n if hardware is not None else None), seconds


def score(images: np.ndarray, reference, kid_subsets: int = 50) -> dict:
    """FID (all N images) and KID (mean, std over subsets) of uint8 images against ``reference``."""
    from diffusion.metrics import inception

    return score_features(inception.features(images), reference, kid_subsets)


def score_features(features: np.ndarray, reference, kid_subsets: int = 50) -> dict:
    """`score` from the images' Inception features (N, 2048), so that slices of one run are scored
    without running Inception again."""
    from diffusion.metrics import fid_kid

    mu, sigma = fid_kid.gaussian_stats(features)
    kid = fid_kid.kid(features, reference.features, subsets=kid_subsets)
    return {
        "n": int(features.shape[0]),
        "fid": fid_kid.frechet_distance(mu, sigma, reference.mu, reference.sigma),
        "kid_mean": kid["mean"],
        "kid_std": kid["std"],
    }


def evaluate(
    evaluation: Evaluation,
    bundle,
    reference,
    chip_cache: dict | None = None,
    progress: ProgressFactory | None = None,
) -> dict:
    """Generate and score one configuration; the row `spindiff eval` prints."""
    images, energy_per_image, seconds = generate_images(evaluation, bundle, chip_cache, progress)
    scores = score(images, reference)
    request = evaluation.request
    hardware = request.hardware
    return {
        "profile": evaluation.label,
        "profile_hash": None if hardware is None else hardware.hash,
        "steps": request.steps,
        "sampler": request.sampler,
        "eta": request.eta,
        "noise": request.noise,
        "seed": request.seed,
        "batch": evaluation.batch,
        "chip_seed": None if hardware is None else request.chip_seed,
        **scores,
        "images_per_second": images.shape[0] / seconds,
        "energy_per_image_j": energy_per_image,
    }


@torch.no_grad()
def epsilon_error(
    bundle, profile, timesteps=(50, 250, 500, 750, 950), batch: int = 32, seed: int = 0, chip_seed: int = 0
) -> dict:
    """Relative RMS error of the chip's ε against software, ‖ε_chip − ε_sw‖ / ‖ε_sw‖, per timestep, and
    the chip's mean offset mean(ε_chip − ε_sw) / RMS(ε_sw) per timestep (``offset_per_timestep``): the
    systematic part, which the sampler's x̂₀ = (x_t − √(1−ᾱ_t)·ε)/√ᾱ_t turns into a brightness shift of
    every image (docs/quality.md).

    Inputs are x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε with x₀ = ``batch`` images the software model itself
    generates (DDPM, 20 steps, ``seed``): realistic garments, no dataset needed. Both networks see the
    same x_t, so the number isolates the arrays' error at each noise level from sampling randomness.
    """
    samples = generate(GenerationRequest(profile=SOFTWARE, num_images=batch, steps=20, seed=seed), bundle).images
    x0_all = torch.from_numpy(samples.astype(np.float32) / 127.5 - 1.0).unsqueeze(1)
    network, _ = get_chip_network(bundle.model, bundle.sha256, profile, chip_seed, bundle.alphas_cumprod, 16, None)
    network.reseed(seed)
    generator = torch.Generator().manual_seed(seed)
    errors, offsets = {}, {}
    for t in timesteps:
        abar = float(bundle.alphas_cumprod[t])
        x_t = abar**0.5 * x0_all + (1 - abar) ** 0.5 * torch.randn(x0_all.shape, generator=generator)
        t_batch = torch.full((batch,), t, dtype=torch.long)
        reference = bundle.model(x_t, t_batch)
        chip = network(x_t, t_batch)
        errors[int(t)] = float((chip - reference).norm() / reference.norm())
        offsets[int(t)] = float((chip - reference).mean() / reference.square().mean().sqrt())
    return {"per_timestep": errors, "mean": float(np.mean(list(errors.values()))), "offset_per_timestep": offsets}


def independent_torch_generator(seed: int, stream: int) -> torch.Generator:
    """A torch CPU generator for (``seed``, ``stream``) whose draws are unrelated to ``manual_seed(seed)``.

    torch's CPU generator keeps only the low 32 bits of its seed (``manual_seed(2**40 + s)`` equals
    ``manual_seed(s)``), so an offset seed is no separate stream; `numpy.random.SeedSequence` mixes
    (seed, stream) into a fresh 32-bit seed instead.
    """
    return torch.Generator().manual_seed(int(np.random.SeedSequence([seed, stream]).generate_state(1)[0]))


def generate_with_epsilon_error(bundle, request: GenerationRequest, relative_error: float) -> np.ndarray:
    """Software images (uint8 (B, 28, 28)) whose every ε prediction carries a random relative error.

    ε' = ε + r·rms(ε)·ξ with ξ ~ N(0, 1) i.i.d. per pixel and rms taken per image, so that
    ‖ε' − ε‖/‖ε‖ ≈ r, the quantity `epsilon_error` measures for a chip. The sampler's own noise is
    the software run's (``TorchNoise(request.seed)``); ξ comes from a second generator whose seed is
    derived from ``request.seed`` through `numpy.random.SeedSequence` (torch's CPU generator keeps only
    the low 32 bits of a seed, so ``seed + 2**40`` would replay the sampler's own noise as ξ and
    correlate the error with the trajectory). r = 0 reproduces the software images exactly.
    """
    if not (isinstance(relative_error, (int, float)) and 0.0 <= relative_error <= 10.0):
        raise InputError(f"relative_error must lie in [0, 10], got {relative_error!r}")
    errors = independent_torch_generator(request.seed, stream=Salt.INJECTED_EPSILON_ERROR)

    def denoise(x, t):
        eps = bundle.model(x, t)
        rms = eps.pow(2).mean(dim=tuple(range(1, eps.dim())), keepdim=True).sqrt()
        return eps + relative_error * rms * torch.randn(eps.shape, generator=errors)

    torch.manual_seed(request.seed)
    shape = (request.num_images, 1, bundle.image_size, bundle.image_size)
    x0 = sample(denoise, make_sampler(request, bundle.alphas_cumprod), TorchNoise(request.seed), shape, request.steps)
    return image_io.to_uint8(x0.numpy())
