"""One generation request, end to end: model + backend + sampler + noise source → images + telemetry.

The compute and the noise are two axes of a request. ``profile = "software"`` runs the model in
float torch — the baseline every chip result is compared with; any hardware profile runs every
Conv2d/Linear on the emulated crossbars (`diffusion.chip.backend`). ``noise`` says where x_T and
every step's z come from:

* ``"torch"`` (the default, `DEFAULT_NOISE`): a CPU ``torch.Generator`` seeded with ``seed`` — the
  same stream for every profile, software included. On a chip the MTJ array still runs for every
  sample the sampler uses and is charged for it (`diffusion.generation.noise.ChargedNoise`): the energy,
  latency and RNG counters are those of the chip making its own noise; only the values are shared.
* ``"mtj"``: the chip's own MTJ true-random array, reseeded with ``seed``. Its bits depend on the
  profile (the devices' calibrated probabilities, XOR whitening, bits per sample, array size) and on
  the chip seed: about 1.5 % of ``vcma-default``'s samples differ from ``ideal``'s fair bits, all of
  ``vcma-xor``'s. A software request with ``noise = "mtj"`` draws from the array of the
  `MTJ_REFERENCE_PROFILE` chip with the same chip seed, so it pairs with that chip.

Why ``"torch"`` by default: only a stream that does not depend on the profile gives a software
request and every chip request with the same seed the same x_T and step noise, so images compare
one to one (``ideal`` reproduces software exactly, ``vcma-default`` gives the same garments with
the chip's error) and chip-vs-software differences carry no sampling noise of their own. The MTJ
array's physics stays in every chip request's cost; its effect on the images is ``noise = "mtj"``
(docs/quality.md: +2.7 % FID at N = 500 for ``vcma-default``'s calibrated array).

``paired = True`` (chip requests) also runs the software network on exactly the same noise (the
twin) and adds per-image PSNR/SSIM of each chip image to its twin (`diffusion.metrics.fidelity`) to the
telemetry; the twin's images are returned as ``GenerationResult.twin_images``. A chip is programmed
once per (model, profile, chip seed) and kept in ``chip_cache`` for later requests; its programming
cost is reported apart from the per-request cost.

A request can be checkpointed and resumed (`diffusion.generation.resume`): ``checkpoint`` receives a
`GenerationState` after every sampler step, and ``resume`` continues from one with the same images
as an uninterrupted run; the telemetry's ``resumed`` says from which step. Paired requests restart.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from device import profiles
from device.errors import InputError
from device.ledger import RNG_COUNTER_MAP, Ledger
from diffusion.chip import cache as chip_files
from diffusion.chip.backend import ChipNetwork
from diffusion.generation import images as image_io
from diffusion.generation.loop import Cancelled, LoopState, sample
from diffusion.generation.noise import ArrayNoise, ChargedNoise, DigestNoise, TorchNoise
from diffusion.generation.resume import GenerationState, StateMismatch, fingerprint, resumable
from diffusion.generation.sampler_names import DEFAULT_SAMPLER, ETA, PARAMETERS, sampler_spec, unused_parameter
from diffusion.generation.samplers import DDIMSampler, build_sampler
from diffusion.telemetry.report import generation_telemetry

SOFTWARE = "software"
NOISE_SOURCES = ("torch", "mtj")
#: The default noise source: the one stream every profile shares (module docstring).
DEFAULT_NOISE = "torch"
#: Whose MTJ array a software request with ``noise = "mtj"`` draws from (at the request's chip seed).
MTJ_REFERENCE_PROFILE = "vcma-default"


@dataclass(frozen=True)
class GenerationRequest:
    """What to generate. ``profile`` is a profile name, ``"software"``, or a `HardwareProfile`.

    ``noise``: ``"torch"`` or ``"mtj"`` (module docstring); ``paired``: also run the software twin
    on the same noise and report the chip images' fidelity to it (chip requests only).
    """

    profile: object = "vcma-default"
    num_images: int = 16
    steps: int = 50
    sampler: str = DEFAULT_SAMPLER  # a name of the registry (`diffusion.generation.sampler_names.SAMPLERS`)
    eta: float = ETA.default
    seed: int = 0
    chip_seed: int = 0
    calibration_batch: int = 16
    noise: str = DEFAULT_NOISE
    paired: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.num_images, int) or not 1 <= self.num_images <= 1024:
            raise InputError(f"num_images must be an integer in [1, 1024], got {self.num_images!r}")
        if not isinstance(self.steps, int) or self.steps < 1:
            raise InputError(f"steps must be a positive integer, got {self.steps!r}")
        sampler_spec(self.sampler)  # an unknown name: InputError naming the known samplers
        for parameter in PARAMETERS.values():  # the samplers' own parameters (today: eta)
            value = getattr(self, parameter.name)
            if isinstance(value, bool) or not (
                isinstance(value, (int, float)) and parameter.low <= value <= parameter.high
            ):
                raise InputError(f"{parameter.name} must lie in [{parameter.low:g}, {parameter.high:g}], got {value!r}")
            message = unused_parameter(self.sampler, parameter.name, value)
            if message:
                raise InputError(message)
        for name in ("seed", "chip_seed"):
            value = getattr(self, name)
            if not isinstance(value, int) or not 0 <= value < 2**63:
                raise InputError(f"{name} must be a non-negative 64-bit integer, got {value!r}")
        if self.noise not in NOISE_SOURCES:
            raise InputError(f"noise must be one of {NOISE_SOURCES}, got {self.noise!r}")
        if not isinstance(self.paired, bool):
            raise InputError(f"paired must be true or false, got {self.paired!r}")
        if self.paired and self.profile == SOFTWARE:
            raise InputError(
                "paired compares a chip request with its software twin; a 'software' request has none: "
                "drop paired or choose a hardware profile"
            )

    @property
    def hardware(self) -> profiles.HardwareProfile | None:
        if isinstance(self.profile, profiles.HardwareProfile):
            return self.profile
        if self.profile == SOFTWARE:
            return None
        return profiles.get_profile(self.profile)


@dataclass
class GenerationResult:
    images: np.ndarray  # uint8 (N, 28, 28)
    telemetry: dict  # a stored `diffusion.telemetry.report.Telemetry` (its JSON dict): load it with diffusion.telemetry.report.load
    twin_images: np.ndarray | None = None  # uint8 (N, 28, 28): the software twin of a paired request


def code_version() -> str:
    """The git commit of this checkout, or 'unknown' outside one."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5
        )
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def make_sampler(request: GenerationRequest, alphas_cumprod: np.ndarray):
    """The request's sampler, from the registry, with the request's values of the parameters it takes."""
    values = {name: getattr(request, name) for name in PARAMETERS}
    return build_sampler(request.sampler, alphas_cumprod, **values)


def request_noise(
    request: GenerationRequest, network: ChipNetwork | None
) -> tuple[DigestNoise, DigestNoise | None, dict]:
    """(the request's noise source, an identical one for its software twin or None, the record's ``noise``).

    ``network`` is the request's programmed chip (None for software); call after ``network.reseed``.
    The twin's source replays the same values without charging the chip: torch from the same seed,
    MTJ from a copy of the chip's reseeded array (`device.rng.MTJRandomSource.restore`).
    """
    from device.rng import MTJRandomSource

    paired = request.paired and network is not None
    if request.noise == "torch":
        values = TorchNoise(request.seed)
        if network is None:
            source, where, charged = values, f"torch.Generator (CPU) seeded with {request.seed}", None
        else:
            source = ChargedNoise(values, lambda shape: network.chip.gaussian(shape, dtype=np.float32))
            where = f"torch.Generator (CPU) seeded with {request.seed}, shared by every profile"
            charged = "the chip's MTJ array, run for every sample (its output discarded)"
        twin = TorchNoise(request.seed) if paired else None
    else:
        if network is None:
            rng = profiles.make_random_source(profiles.get_profile(MTJ_REFERENCE_PROFILE), request.chip_seed)
            rng.reseed(request.seed)
            source, charged = ArrayNoise(lambda shape: rng.gaussian(shape, dtype=np.float32)), None
            where = f"the MTJ array of the {MTJ_REFERENCE_PROFILE} chip with chip seed {request.chip_seed}, reseeded with {request.seed}"
            twin = None
        else:
            rng = network.chip.rng
            replica = MTJRandomSource.restore(rng.mtj, rng.params, rng.snapshot()) if paired else None
            source = ArrayNoise(lambda shape: network.chip.gaussian(shape, dtype=np.float32))
            where = f"the chip's MTJ array (chip seed {request.chip_seed}), reseeded with {request.seed}"
            charged = "the chip's MTJ array"
            twin = ArrayNoise(lambda shape: replica.gaussian(shape, dtype=np.float32)) if paired else None
    record = {"source": request.noise, "values": where, "charged_to": charged}
    return DigestNoise(source), None if twin is None else DigestNoise(twin), record


def count_macs(model: torch.nn.Module, shape: tuple, t_value: int = 0) -> int:
    """Multiply-accumulates of one forward pass of ``model`` on a batch of ``shape`` (Conv2d + Linear)."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, torch.nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * k
        else:
            total += output.numel() * module.in_features

    handles = [
        m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(shape), torch.full((shape[0],), t_value, dtype=torch.long))
    finally:
        for h in handles:
            h.remove()
    return total


def calibration_inputs(model, alphas_cumprod, seed: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(x_t, t): ``batch`` noisy versions of the model's own samples at random t, seeded by ``seed``.

    x0 are software DDIM samples (10 steps) — the activations a deployed chip's arrays will see —
    noised to x_t = √ᾱ_t·x0 + √(1 − ᾱ_t)·ε at t uniform over the schedule.
    """
    data = torch.Generator().manual_seed(seed)
    t = torch.randint(0, len(alphas_cumprod), (batch,), generator=data)
    x0 = sample(model, DDIMSampler(alphas_cumprod), TorchNoise(seed), (batch, 1, 28, 28), 10).clamp(-1, 1)
    abar = torch.tensor(alphas_cumprod, dtype=torch.float32)[t].reshape(-1, 1, 1, 1)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * torch.randn(x0.shape, generator=data)
    return x_t, t


def get_chip_network(
    model, model_sha256: str, profile, chip_seed: int, alphas_cumprod, calibration_batch: int, chip_cache: dict | None
):
    """The programmed chip for (model, profile, chip seed), built (and calibrated) on first use.

    Calibration (ADC ranges, output gains) runs the software network on ``calibration_batch`` noisy
    versions x_t of its own samples at random t (`calibration_inputs`, seeded by the chip seed).
    Built chips are also kept on disk (`diffusion.chip.cache`) and loaded from there when the
    in-memory ``chip_cache`` does not have them. Returns (network, where it came from: ``"memory"``,
    ``"disk"`` or ``"programmed"``).
    """
    key = (model_sha256, profile.hash, chip_seed)
    if chip_cache is not None and key in chip_cache:
        return chip_cache[key], "memory"
    directory = chip_files.cache_dir()
    entry = chip_files.key(model_sha256, profile, chip_seed, calibration_batch) if directory is not None else None
    restored = chip_files.load(entry, directory, profile) if directory is not None else None
    if restored is not None:
        network = ChipNetwork(model, profile, chip_seed, restored=restored)
    else:
        network = ChipNetwork(
            model,
            profile,
            chip_seed,
            calibration_inputs=calibration_inputs(model, alphas_cumprod, chip_seed, calibration_batch),
        )
        if directory is not None:
            try:
                chip_files.save(network, entry, directory)
            except OSError as error:  # a full or read-only disk costs the next worker a programming, nothing else
                logging.getLogger("spindiff.chip_cache").warning(
                    "could not cache chip %s in %s: %s", entry, directory, error
                )
    if chip_cache is not None:
        chip_cache[key] = network
    return network, "programmed" if restored is None else "disk"


def generate(
    request: GenerationRequest,
    bundle,
    progress=None,
    cancel=None,
    chip_cache: dict | None = None,
    resume: GenerationState | None = None,
    checkpoint=None,
) -> GenerationResult:
    """Run ``request`` with ``bundle`` (a `diffusion.model.checkpoints.ModelBundle`: model, schedule, sha256).

    ``checkpoint(GenerationState)``: called after every sampler step (not for a paired request);
    ``resume``: a state of this request and model to continue from (module docstring).
    """
    started = time.perf_counter()
    not_resumable = resumable(request)
    if resume is not None and not_resumable:
        raise StateMismatch(f"cannot resume this request: {not_resumable}")
    hardware = request.hardware
    alphas = bundle.alphas_cumprod
    sampler = make_sampler(request, alphas)
    shape = (request.num_images, 1, bundle.image_size, bundle.image_size)
    timings = {}
    if hardware is None:
        torch.manual_seed(request.seed)
        denoise = bundle.model
        network = None
        noise, twin_noise, noise_record = request_noise(request, None)
    else:
        t0 = time.perf_counter()
        network, source = get_chip_network(
            bundle.model, bundle.sha256, hardware, request.chip_seed, alphas, request.calibration_batch, chip_cache
        )
        timings["programming_s"] = time.perf_counter() - t0 if source == "programmed" else 0.0
        timings["chip_load_s"] = time.perf_counter() - t0 if source == "disk" else 0.0
        network.reseed(request.seed)
        noise, twin_noise, noise_record = request_noise(request, network)
        denoise = network
        before = network.chip.ledger.copy()
    key = fingerprint(request, bundle.sha256, None if network is None else network.device.type)
    start, on_step = None, None
    if resume is not None:
        start = _restore(resume, key, network)
    if checkpoint is not None and not not_resumable:

        def on_step(state: LoopState) -> None:
            checkpoint(_state(state, len(sampler.timesteps), key, network, before if network else None))

    t0 = time.perf_counter()
    try:
        x0 = sample(
            denoise,
            sampler,
            noise,
            shape,
            request.steps,
            progress=progress,
            cancel=cancel,
            start=start,
            checkpoint=on_step,
        )
    except Cancelled as cancelled:
        timings["sampling_s"] = time.perf_counter() - t0
        cancelled.telemetry = _cancelled_telemetry(
            cancelled, request, hardware, bundle, sampler, network, before if network else None, timings, started
        )
        raise
    timings["sampling_s"] = time.perf_counter() - t0
    pictures = image_io.to_uint8(x0.numpy())
    twin_pictures = None
    if twin_noise is not None:
        t0 = time.perf_counter()
        try:
            twin = sample(bundle.model, make_sampler(request, alphas), twin_noise, shape, request.steps, cancel=cancel)
        except Cancelled as cancelled:  # the chip run is complete; the twin was stopped
            timings["twin_sampling_s"] = time.perf_counter() - t0
            total = len(sampler.timesteps)
            stopped = Cancelled(total, total)
            stopped.telemetry = _cancelled_telemetry(
                stopped, request, hardware, bundle, sampler, network, before, timings, started
            )
            stopped.telemetry["cancelled"]["twin_steps_done"] = cancelled.steps_done
            raise stopped from None
        timings["twin_sampling_s"] = time.perf_counter() - t0
        twin_pictures = image_io.to_uint8(twin.numpy())
    noise_record.update(x_T_sha256=noise.x_T_sha256, stream_sha256=noise.stream_sha256, samples=noise.samples_drawn)
    parts = {
        "request": {**asdict(request), "profile": SOFTWARE if hardware is None else hardware.name},
        "reproducibility": {
            "seed": request.seed,
            "chip_seed": request.chip_seed,
            "model_sha256": bundle.sha256,
            "profile": None if hardware is None else hardware.to_dict(),
            "profile_hash": None if hardware is None else hardware.hash,
            "sampler": {
                "name": request.sampler,
                "steps": request.steps,
                "eta": request.eta,
                "timesteps": [int(t) for t in sampler.timesteps],
            },
            "noise": noise_record,
            "code_version": code_version(),
        },
        "timings": timings,
    }
    if twin_pictures is not None:
        from diffusion.metrics.fidelity import fidelity_block

        parts["fidelity"] = {
            **fidelity_block(pictures, twin_pictures),
            "same_noise": twin_noise.stream_sha256 == noise.stream_sha256,
        }
    macs_per_image = count_macs(bundle.model, (1,) + shape[1:]) * len(sampler.timesteps)
    if network is not None:
        from device.cost_uncertainty import ratio_ranges

        per_request = Ledger.diff(network.chip.ledger, before)
        workload = {"model_sha256": bundle.sha256, "steps": request.steps, "sampler": request.sampler}
        parts["energy"] = network.chip.report(
            per_request, images=request.num_images, steps=request.steps, workload=workload
        )
        tech = hardware.technology
        parts["ratio_ranges"] = ratio_ranges(
            parts["energy"],
            post_layout_factor=tech.post_layout_factor,
            post_layout_applied=tech.apply_post_layout_factor,
        )
        parts["programming"] = network.chip.report(network.chip.ledger, phase="programming", workload=workload)
        parts["noise_samples"] = noise.samples_drawn if hasattr(noise, "samples_drawn") else None
        parts["emulation"] = {**network.emulation_summary(), "chip_source": source}
    else:
        from device.baselines import baseline_report

        samples = int(np.prod(shape)) * (1 + sum(sampler.needs_noise(t) for t in sampler.timesteps))
        parts["energy"] = {
            "baseline": baseline_report(2.0 * macs_per_image * request.num_images, samples, images=request.num_images)
        }
    parts["workload"] = {"macs_per_image": macs_per_image}
    if resume is not None:
        parts["resumed"] = {"from_step": resume.step, "total": resume.total}
    parts["timings"]["total_s"] = time.perf_counter() - started
    return GenerationResult(pictures, generation_telemetry(**parts), twin_pictures)


#: ledger counters of the random source: a resumed run replays its draws (`diffusion.generation.loop`), so
#: a `GenerationState` carries only the others
_RNG_COUNTS = frozenset(RNG_COUNTER_MAP.values())


def _state(
    state: LoopState, total: int, key: str, network: ChipNetwork | None, before: Ledger | None
) -> GenerationState:
    """The `GenerationState` after ``state.step`` steps: x_t and, on a chip, its analog noise and counts so far."""
    x = state.x.detach().to("cpu", torch.float32).numpy().copy()
    if network is None:
        return GenerationState(state.step, total, x, key)
    counts = Ledger.diff(network.chip.ledger, before).counts("inference")
    ledger = {name: value for name, value in counts.items() if value and name not in _RNG_COUNTS}
    analog = network.generator.get_state().numpy().tobytes()
    return GenerationState(state.step, total, x, key, analog_rng=analog, ledger=ledger)


def _restore(resume: GenerationState, key: str, network: ChipNetwork | None) -> LoopState:
    """Check ``resume`` belongs to this request, model and engine, restore the chip's part, and return the loop's."""
    if resume.fingerprint != key:
        raise StateMismatch(
            "the generation state belongs to another request, model or torch device (fingerprint mismatch)"
        )
    if (network is None) != (resume.analog_rng is None):
        raise StateMismatch("the generation state and the request disagree on whether a chip runs it")
    if network is not None:
        network.generator.set_state(torch.frombuffer(bytearray(resume.analog_rng), dtype=torch.uint8))
        network.chip.ledger.add("inference", **(resume.ledger or {}))
    return LoopState(resume.step, torch.from_numpy(resume.x.copy()))


def _cancelled_telemetry(cancelled, request, hardware, bundle, sampler, network, before, timings, started) -> dict:
    """What a cancelled request had spent: attached to the `Cancelled` it raises as ``.telemetry`` (a stored report)."""
    parts = {
        "request": {**asdict(request), "profile": SOFTWARE if hardware is None else hardware.name},
        "cancelled": {"steps_done": cancelled.steps_done, "total": cancelled.total},
        "timings": dict(timings),
        "energy": None,
    }
    if network is not None:
        per_request = Ledger.diff(network.chip.ledger, before)
        workload = {"model_sha256": bundle.sha256, "steps": cancelled.steps_done, "sampler": request.sampler}
        parts["energy"] = network.chip.report(
            per_request, images=request.num_images, steps=cancelled.steps_done or None, workload=workload
        )
    parts["timings"]["total_s"] = time.perf_counter() - started
    return generation_telemetry(**parts)


def write_outputs(result: GenerationResult, out_dir: Path) -> list[Path]:
    """PNGs (record in text chunks), ``grid.png`` and ``telemetry.json`` into ``out_dir``."""
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    record = result.telemetry["reproducibility"]
    written = []
    for k, image in enumerate(result.images):
        path = out_dir / f"{k:03d}.png"
        path.write_bytes(image_io.png_bytes(image, {**record, "index": k}))
        written.append(path)
    grid_path = out_dir / "grid.png"
    grid_path.write_bytes(image_io.png_bytes(image_io.grid(result.images), record, scale=4))
    if result.twin_images is not None:  # a paired request: the software twin's images in twin/
        twin_dir = out_dir / "twin"
        twin_dir.mkdir(exist_ok=True)
        twin_record = {**record, "twin": "software network, same noise"}
        for k, image in enumerate(result.twin_images):
            path = twin_dir / f"{k:03d}.png"
            path.write_bytes(image_io.png_bytes(image, {**twin_record, "index": k}))
            written.append(path)
        (twin_dir / "grid.png").write_bytes(image_io.png_bytes(image_io.grid(result.twin_images), twin_record, scale=4))
        written.append(twin_dir / "grid.png")
    (out_dir / "telemetry.json").write_text(json.dumps(result.telemetry, indent=2, default=_json_default))
    return written + [grid_path, out_dir / "telemetry.json"]


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")
