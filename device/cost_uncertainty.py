"""How far the GPU/TPU-over-chip ratios move over the cost model's uncertain assumptions.

A cost report (`device.cost.cost_report`) states one number per ratio, made with one choice for
each assumption. Three of those choices are not settled by anything spindiff can measure, and each
moves the ratios by a factor, not a few per cent:

1. **ADC energy model** (docs/formulas.md F3 against F4). The headline charges every conversion at the
   F3 survey best case (Accelergy's fit to the Murmann ADC survey: what a designed-for-purpose ADC
   achieves); F4 is NeuroSim V1.4's SAR fit at 22 nm with the report's column resistance (an
   assumption of its own: half the rows conducting). The report carries both totals
   (``adc_alternatives``); the chip's energy under F4 is E − E_ADC,F3 + E_ADC,F4.
2. **GPU/TPU utilisation**: the baseline delivers ``utilisation`` of the dense tensor peak at TDP
   (`device.baselines`), so its energy ∝ 1/utilisation. Headline 0.3; range 0.15–0.6, a factor 2
   either way (assumption: 0.6 is about what large-batch convolution reaches on these parts, far
   above what a 28×28 U-Net at small batch gets; 0.15 a small-batch run that still keeps the
   device near its power limit — lower utilisation would also lower the power, which this
   TDP × time model does not follow, so the range stops there).
3. **Post-layout factor** (F7): the headline is pre-layout dynamic energy; NeuroSim's post-layout
   multiplier (``TechnologyParameters.post_layout_factor``, 1.22) scales every chip joule.

The GPU/TPU side is recomputed with `device.baselines.baseline_report` at each utilisation (same
FLOPs and Gaussian samples as the report), the chip side from the report's own components, so the
headline case reproduces the report's ratios exactly. ``low`` is the corner least favourable to the
chip (F4, post-layout, utilisation 0.6), ``high`` the most favourable (F3, pre-layout, 0.15);
``by_assumption`` gives each assumption's swing with the others at their headline choice. The same
is done for the seed paper's energy-per-bit-per-area ratio (`device.baselines`: both area bases),
which the ADC does not enter. Not varied (listed in the report's ``assumptions.constants`` with
their bases): the digital-op, DAC and shift-add energies, the GPU's TDP as its operating power.
"""

from __future__ import annotations

import math

from device import baselines
from device.errors import InputError

UTILISATION_RANGE = (0.15, 0.6)
POST_LAYOUT_FACTOR = 1.22  # NeuroSim's, = TechnologyParameters().post_layout_factor
ASSUMPTION_BASES = {
    "adc_model": "headline F3 (Murmann-survey best case, Accelergy fit); alternative F4 (NeuroSim V1.4 SAR fit, 22 nm, "
    "at the report's column resistance); docs/formulas.md F3, F4",
    "utilisation": "fraction of the dense FP16/BF16 tensor peak the GPU/TPU delivers at TDP; headline 0.3, range a factor 2 "
    "either way (assumption)",
    "post_layout_factor": "NeuroSim's post-layout multiplier on the chip's dynamic energy (F7); the headline is pre-layout",
}


def _number(report: dict, *path: str) -> float:
    value = report
    for key in path:
        if not isinstance(value, dict) or key not in value:
            raise InputError(
                f"the cost report has no {'.'.join(path)} (a device.cost.cost_report of the inference phase is needed)"
            )
        value = value[key]
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise InputError(f"the cost report's {'.'.join(path)} must be a finite number >= 0, got {value!r}")
    return float(value)


def _span(values: dict) -> dict:
    return {"headline": values["headline"], "low": min(values.values()), "high": max(values.values())}


def ratio_ranges(
    report: dict,
    *,
    utilisation_range: tuple[float, float] = UTILISATION_RANGE,
    post_layout_factor: float = POST_LAYOUT_FACTOR,
    post_layout_applied: bool = False,
) -> dict:
    """Low–high ranges of the GPU/TPU-over-chip ratios of a chip cost report (module docstring).

    ``report``: the JSON-ready dict of `device.cost.cost_report` (inference phase). ``post_layout_applied``
    says whether the report's energies already include ``post_layout_factor`` (then the alternative
    divides it out). Returns a JSON-ready dict: ``assumptions`` (name, headline, alternatives, basis),
    ``chip_energy_per_image_j`` and, per accelerator, ``energy_per_image_gpu_over_chip`` and
    ``energy_per_bit_per_area_gpu_over_chip`` (both area bases) as {headline, low, high, low_case,
    high_case, by_assumption}.
    """
    low_u, high_u = (float(u) for u in utilisation_range)
    if not 0.0 < low_u <= high_u <= 1.0:
        raise InputError(f"utilisation_range must satisfy 0 < low <= high <= 1, got {utilisation_range!r}")
    if not isinstance(post_layout_factor, (int, float)) or not post_layout_factor >= 1.0:
        raise InputError(f"post_layout_factor must be a number >= 1, got {post_layout_factor!r}")
    images = int(_number(report, "images")) or 1
    total = _number(report, "energy_total_j")
    adc = {"F3": _number(report, "adc_alternatives", "survey_f3"), "F4": _number(report, "adc_alternatives", "sar_f4")}
    flops, samples = _number(report, "baseline", "flops"), _number(report, "baseline", "gaussian_samples")
    headline_u = _number(report, "baseline", "utilisation")
    rng_ops = _number(report, "baseline", "rng_ops_per_sample")
    bit_metric = (report.get("rng_detail") or {}).get("energy_per_bit_per_area_j_mm2")
    layout = {
        "pre-layout": 1.0 / post_layout_factor if post_layout_applied else 1.0,
        "post-layout": 1.0 if post_layout_applied else float(post_layout_factor),
    }
    headline_layout = "post-layout" if post_layout_applied else "pre-layout"
    utilisations = {"headline": headline_u, "low": low_u, "high": high_u}
    gpu = {
        name: baselines.baseline_report(flops, samples, u, rng_ops_per_sample=rng_ops, images=images)["accelerators"]
        for name, u in utilisations.items()
    }

    def chip_energy(adc_model: str, layout_case: str) -> float:
        return (total - adc["F3"] + adc[adc_model]) * layout[layout_case] / images

    cases = {  # name → (adc model, layout, utilisation key)
        "headline": ("F3", headline_layout, "headline"),
        "low": ("F4", "post-layout", "high"),
        "high": ("F3", "pre-layout", "low"),
    }
    swings = {
        "adc_model": [("F3", headline_layout, "headline"), ("F4", headline_layout, "headline")],
        "utilisation": [("F3", headline_layout, "low"), ("F3", headline_layout, "high")],
        "post_layout_factor": [("F3", "pre-layout", "headline"), ("F3", "post-layout", "headline")],
    }

    def describe(case, varied) -> dict:
        choice = {"adc_model": case[0], "post_layout_factor": case[1], "utilisation": utilisations[case[2]]}
        return {name: choice[name] for name in varied}

    def energy_ratio(key: str, case) -> float | None:
        chip = chip_energy(case[0], case[1])
        return gpu[case[2]][key]["energy_per_image_j"] / chip if chip > 0 else None

    def bit_ratio(key: str, basis: str, case) -> float | None:
        gpu_metric = gpu[case[2]][key]["energy_per_bit_per_area_j_mm2"][basis]
        if not bit_metric or gpu_metric is None:
            return None
        return gpu_metric / (bit_metric * layout[case[1]])

    def ranged(value, varied=tuple(swings)) -> dict:
        values = {name: value(case) for name, case in cases.items()}
        if any(v is None for v in values.values()):
            return {"headline": values["headline"], "low": None, "high": None}
        return {
            **values,
            "low_case": describe(cases["low"], varied),
            "high_case": describe(cases["high"], varied),
            "by_assumption": {name: sorted(value(case) for case in swings[name]) for name in varied},
        }

    energy_ratios, bit_ratios = {}, {}
    for key in gpu["headline"]:
        energy_ratios[key] = ranged(lambda case, key=key: energy_ratio(key, case))
        bit_ratios[key] = {
            basis: ranged(
                lambda case, key=key, basis=basis: bit_ratio(key, basis, case), ("utilisation", "post_layout_factor")
            )
            for basis in ("full_die", "rng_time_share")
        }  # the ADC does not enter this metric
    return {
        "assumptions": [
            {
                "name": "adc_model",
                "headline": "F3",
                "alternatives": ["F3", "F4"],
                "basis": ASSUMPTION_BASES["adc_model"],
                "adc_energy_j": adc,
            },
            {
                "name": "utilisation",
                "headline": headline_u,
                "alternatives": [low_u, high_u],
                "basis": ASSUMPTION_BASES["utilisation"],
            },
            {
                "name": "post_layout_factor",
                "headline": headline_layout,
                "alternatives": ["pre-layout", "post-layout"],
                "factor": float(post_layout_factor),
                "basis": ASSUMPTION_BASES["post_layout_factor"],
            },
        ],
        "chip_energy_per_image_j": _span({name: chip_energy(*case[:2]) for name, case in cases.items()}),
        "energy_per_image_gpu_over_chip": energy_ratios,
        "energy_per_bit_per_area_gpu_over_chip": bit_ratios,
        "method": "low: F4 ADC, post-layout chip energy, GPU/TPU at the highest utilisation; high: F3, pre-layout, the lowest "
        "utilisation; by_assumption: each assumption alone, the others at their headline choice",
        "not_varied": "digital-op, DAC and shift-add energies (Horowitz-based, assumptions.constants); the GPU/TPU's TDP as "
        "its operating power; the accelerators' own uncertain numbers (baseline.accelerators.*.uncertain)",
    }
