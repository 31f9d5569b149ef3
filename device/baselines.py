"""GPU/TPU baselines for the same workload, and the seed paper's "energy per bit per area" metric.

Reference accelerators are frozen data with their sources (house rule 2). The baseline model is
deliberately simple and stated in every report:

    time   = (FLOPs + gaussian_samples · rng_ops_per_sample) / (peak · utilisation)
    energy = TDP · time

i.e. the accelerator runs at its power limit while delivering ``utilisation`` of its dense
FP16/BF16 tensor peak. Random numbers are charged as ops at that same rate (a best case for the
GPU: Philox and Box–Muller run on the vector/CUDA cores, whose peak is ≈ 1/15 of the tensor peak;
`energy_per_random_bit_j_vector_rate` gives that alternative where the vector peak is published).

Random-number op count (``RNG_OPS_PER_SAMPLE`` = 31; spindiff's count, transcendental functions
charged as one op each, which favours the GPU):
- Philox4x32-10 (Salmon et al., SC 2011; cuRAND's default counter-based generator): each of the 10
  rounds does 2 32×32→64-bit multiplies (mul.lo + mul.hi = 4 ops), 4 XORs and 2 key additions =
  10 ops; one call (100 ops) yields four 32-bit words → 25 ops per 32-bit word.
- uniform conversion: int→float and scale = 2 ops per word.
- Box–Muller (cuRAND ``curand_normal``: two words → two normals): ln, ×(−2), sqrt, ×2π, sin, cos and
  two products = 8 ops per pair → 4 ops per sample.
  Per Gaussian sample: 25 + 2 + 4 = 31 ops.

"Energy per bit per area" (the seed paper, Cheng et al., Nat. Commun. 16, 5022 (2025), claims
≈ 10³× better than GPU/TPU; its exact definition is not available to us, so spindiff defines it):
- bit: one uniformly random bit delivered to the sampler. Chip: one MTJ output bit (after XOR when
  XOR whitening is on, so XOR's second cycle is charged to it). GPU/TPU: one bit of a 32-bit
  Philox4x32-10 output word (25/32 ops per bit).
- metric: (energy per random bit, J) × (area of the hardware producing it, mm²), in J·mm²; lower is
  better. Chip: the random-bit array (cells + periphery). GPU/TPU: headline with the **full die**
  (it has no dedicated RNG block; the die cannot be shrunk to its RNG share, and the seed paper
  compares whole chips); also reported with die area × the fraction of the workload's time spent on
  RNG ops (``rng_time_share``), which flatters the GPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from device.errors import InputError, ParameterError

PHILOX_OPS_PER_WORD = 25  # Philox4x32-10: 100 ops per call / 4 words (module docstring)
UNIFORM_CONVERSION_OPS = 2
BOX_MULLER_OPS_PER_SAMPLE = 4
RNG_OPS_PER_SAMPLE = PHILOX_OPS_PER_WORD + UNIFORM_CONVERSION_OPS + BOX_MULLER_OPS_PER_SAMPLE  # 31
BITS_PER_PHILOX_WORD = 32
DEFAULT_UTILISATION = 0.3

BASELINE_MODEL = (
    "energy = TDP × time, time = (FLOPs + gaussian_samples × rng_ops_per_sample) / "
    "(dense FP16/BF16 tensor peak × utilisation); random numbers charged as ops at the same rate"
)
BIT_DEFINITION = (
    "one uniformly random bit delivered to the sampler: for the chip one MTJ output bit (after XOR "
    "if used), for a GPU/TPU one bit of a 32-bit Philox4x32-10 output word"
)
METRIC_DEFINITION = (
    "energy per bit per area = (energy per random bit, J) × (area of the hardware producing it, "
    "mm²), J·mm², lower is better; GPU/TPU headline uses the full die, 'rng_time_share' uses the "
    "die × fraction of the workload's time spent on RNG ops"
)


@dataclass(frozen=True)
class Accelerator:
    """One reference accelerator (per chip/package, SI units).

    Attributes:
        name: display name.
        peak_flops: dense FP16/BF16 tensor peak, FLOP/s (no sparsity).
        tdp_w: board/chip power limit used as the operating power, W.
        die_area_mm2: logic die area, mm².
        process: fabrication process, text.
        vector_ops_per_s: non-tensor (FP32 CUDA-core) peak, op/s; 0.0 where not published.
        source: where the numbers come from.
        uncertain: which numbers spindiff is unsure of ("" if none).
    """

    name: str
    peak_flops: float
    tdp_w: float
    die_area_mm2: float
    process: str
    vector_ops_per_s: float
    source: str
    uncertain: str = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "str":
                if not isinstance(value, str):
                    raise ParameterError(f"Accelerator.{f.name} must be a string, got {value!r}")
                continue
            positive = f.name != "vector_ops_per_s"
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
                raise ParameterError(f"Accelerator.{f.name} must be a finite number, got {value!r}")
            if value < 0 or (positive and value == 0):
                raise ParameterError(f"Accelerator.{f.name} must be {'> 0' if positive else '>= 0'}, got {value!r}")


A100_SXM = Accelerator(
    name="NVIDIA A100 SXM",
    peak_flops=312e12,
    tdp_w=400.0,
    die_area_mm2=826.0,
    process="TSMC N7 (7 nm)",
    vector_ops_per_s=19.5e12,
    source=(
        "NVIDIA A100 Tensor Core GPU datasheet (312 TFLOPS dense FP16/BF16 tensor, 19.5 TFLOPS FP32, "
        "400 W SXM) and NVIDIA A100 architecture whitepaper (GA100 die 826 mm², 7 nm)"
    ),
)
H100_SXM = Accelerator(
    name="NVIDIA H100 SXM",
    peak_flops=989e12,
    tdp_w=700.0,
    die_area_mm2=814.0,
    process="TSMC 4N",
    vector_ops_per_s=67e12,
    source=(
        "NVIDIA H100 Tensor Core GPU datasheet, SXM5 (989 TFLOPS dense FP16/BF16 tensor — 1979 with "
        "sparsity, 67 TFLOPS FP32, up to 700 W) and NVIDIA H100/Hopper architecture whitepaper "
        "(GH100 die 814 mm², TSMC 4N)"
    ),
)
TPU_V4 = Accelerator(
    name="Google TPU v4",
    peak_flops=275e12,
    tdp_w=192.0,
    die_area_mm2=600.0,
    process="7 nm",
    vector_ops_per_s=0.0,
    source=(
        "Jouppi et al., 'TPU v4: An Optically Reconfigurable Supercomputer for Machine Learning with "
        "Hardware Support for Embeddings', ISCA 2023 (arXiv 2304.01433): 275 TFLOPS BF16, 7 nm; "
        "Google Cloud TPU v4 documentation: 192 W maximum chip power"
    ),
    uncertain=(
        "power: 192 W is the maximum chip power from Google's Cloud TPU v4 page, used as TDP "
        "(the ISCA 2023 paper reports a lower mean, ≈ 170 W, not verified here); die area: "
        "'< 600 mm²' as recalled from the ISCA 2023 comparison table, not verified against the "
        "paper — an upper bound; vector-unit peak not published (vector-rate RNG figure omitted)"
    ),
)

ACCELERATORS: dict[str, Accelerator] = {"a100_sxm": A100_SXM, "h100_sxm": H100_SXM, "tpu_v4": TPU_V4}


def energy_per_bit_per_area(energy_per_bit_j: float, area_mm2: float) -> float:
    """The seed paper's headline metric as spindiff defines it (module docstring), J·mm²."""
    return float(energy_per_bit_j) * float(area_mm2)


def _check_number(name: str, value, positive: bool = False) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise InputError(f"{name} must be {'> 0' if positive else '>= 0'}, got {value!r}")
    return float(value)


def baseline_report(
    flops: float,
    gaussian_samples: int,
    utilisation: float = DEFAULT_UTILISATION,
    rng_ops_per_sample: float = RNG_OPS_PER_SAMPLE,
    images: int = 1,
    accelerators: dict[str, Accelerator] | None = None,
) -> dict:
    """Energy, time and area of each reference accelerator running the same workload (JSON-ready).

    Args:
        flops: network FLOPs of the workload (2 per multiply-accumulate).
        gaussian_samples: N(0, 1) samples the sampler draws.
        utilisation: fraction of the tensor peak achieved, (0, 1]. 0.3 (assumption: typical of
            small-batch convolutional U-Net inference).
        rng_ops_per_sample: ops per Gaussian sample (module docstring: 31).
        images: images in the workload (for the per-image numbers).
        accelerators: name → `Accelerator`; default `ACCELERATORS`.
    """
    flops = _check_number("flops", flops)
    gaussian_samples = _check_number("gaussian_samples", gaussian_samples)
    rng_ops_per_sample = _check_number("rng_ops_per_sample", rng_ops_per_sample, positive=True)
    utilisation = _check_number("utilisation", utilisation, positive=True)
    if utilisation > 1.0:
        raise InputError(f"utilisation must lie in (0, 1], got {utilisation!r}")
    if not isinstance(images, int) or isinstance(images, bool) or images < 1:
        raise InputError(f"images must be a positive integer, got {images!r}")
    accelerators = ACCELERATORS if accelerators is None else accelerators
    rng_ops = gaussian_samples * rng_ops_per_sample
    ops_total = flops + rng_ops
    ops_per_bit = PHILOX_OPS_PER_WORD / BITS_PER_PHILOX_WORD
    per_device = {}
    for key, acc in accelerators.items():
        if not isinstance(acc, Accelerator):
            raise InputError(f"accelerators[{key!r}] must be an Accelerator, got {type(acc).__name__}")
        rate = acc.peak_flops * utilisation
        time_s = ops_total / rate
        energy_per_op = acc.tdp_w / rate
        bit_energy = ops_per_bit * energy_per_op
        rng_fraction = rng_ops / ops_total if ops_total > 0 else 0.0
        vector_bit_energy = (
            ops_per_bit * acc.tdp_w / (acc.vector_ops_per_s * utilisation) if acc.vector_ops_per_s > 0 else None
        )
        per_device[key] = {
            "name": acc.name,
            "peak_flops": acc.peak_flops,
            "tdp_w": acc.tdp_w,
            "die_area_mm2": acc.die_area_mm2,
            "time_s": time_s,
            "time_per_image_s": time_s / images,
            "energy_j": acc.tdp_w * time_s,
            "energy_per_image_j": acc.tdp_w * time_s / images,
            "energy_per_op_j": energy_per_op,
            "rng_energy_j": rng_ops * energy_per_op,
            "rng_time_fraction": rng_fraction,
            "energy_per_random_bit_j": bit_energy,
            "energy_per_random_bit_j_vector_rate": vector_bit_energy,
            "energy_per_bit_per_area_j_mm2": {
                "full_die": energy_per_bit_per_area(bit_energy, acc.die_area_mm2),
                "rng_time_share": (
                    energy_per_bit_per_area(bit_energy, acc.die_area_mm2 * rng_fraction) if rng_fraction > 0 else None
                ),
            },
            "source": acc.source,
            "uncertain": acc.uncertain,
        }
    return {
        "model": BASELINE_MODEL,
        "utilisation": utilisation,
        "rng_ops_per_sample": rng_ops_per_sample,
        "rng_ops_per_bit": ops_per_bit,
        "flops": flops,
        "gaussian_samples": gaussian_samples,
        "rng_ops": rng_ops,
        "ops_total": ops_total,
        "images": images,
        "bit_definition": BIT_DEFINITION,
        "metric_definition": METRIC_DEFINITION,
        "accelerators": per_device,
    }
