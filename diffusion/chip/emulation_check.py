"""Statistical emulation against exact emulation, measured: per layer, and on the network's ε.

The statistical mode (`diffusion.chip.crossbar_statistical`) is a reduced-order model of the exact one;
this module measures how well it holds (the fidelity ladder of the design). A `ChipNetwork` in
statistical mode carries both engines for every layer (the exact one calibrates the chip), so both
are compared on the same programmed cells, the same trims and the same inputs:

* `layer_agreement`: for every crossbar layer, the inputs the layer sees in the software network on
  a batch of noisy images, its error y − x @ W under each engine (pooled over batch rows and
  outputs): mean, variance, their ratio and the mean difference in units of the exact error's σ;
* `epsilon_agreement`: the network's ε error ‖ε_chip − ε_software‖/‖ε_software‖ at fixed t, exact
  and statistical, on the same x_t.
"""

from __future__ import annotations

import numpy as np
import torch

from diffusion.chip.backend import ChipConv2d, ChipLinear, ChipNetwork, im2col, rows_to_image

EPSILON_TIMESTEPS = (50, 250, 500, 750, 950)

#: A layer's error moments are pooled over enough noise draws for this many samples (at most
#: `MAX_DRAWS` draws): the time-embedding layers have one row per image.
MIN_SAMPLES = 65536
MAX_DRAWS = 64


def layer_inputs(network: ChipNetwork, *inputs) -> dict[str, torch.Tensor]:
    """The input tensor every crossbar layer sees in the software network (4-D for convs, rows for linears)."""
    seen: dict[str, torch.Tensor] = {}

    def hook(module, args, _output):
        seen[module.name] = args[0].detach().to(network.device, torch.float32)

    handles = [
        m.register_forward_hook(hook) for m in network.model.modules() if isinstance(m, (ChipConv2d, ChipLinear))
    ]
    network.capture = {}
    try:
        with torch.inference_mode():
            network.model(*network._to_device(inputs))
    finally:
        network.capture = None
        for handle in handles:
            handle.remove()
    return seen


def _error_moments(error: torch.Tensor) -> tuple[float, float]:
    e = error.double()
    return float(e.mean()), float(e.var())


@torch.inference_mode()
def layer_agreement(network: ChipNetwork, inputs, seed: int = 0) -> list[dict]:
    """One row per crossbar layer: exact and statistical error moments on ``inputs`` (see module docstring)."""
    if network.emulation != "statistical":
        raise ValueError("layer_agreement needs a ChipNetwork in statistical mode (it holds both engines)")
    generator = torch.Generator(device=network.device)
    rows = []
    for name, x in layer_inputs(network, *inputs).items():
        module = dict(network.model.named_modules())[name]
        weights = network._weight_tensors[name].double()
        generator.manual_seed(seed)
        is_conv = isinstance(module, ChipConv2d)
        if is_conv:
            patches, (h, w) = im2col(x, module.conv_spec)
            target = rows_to_image(patches.double() @ weights, x.shape[0], h, w)
            n_rows = patches.shape[0]
        else:
            target, n_rows = x.double() @ weights, x.shape[0]
        draws = int(min(MAX_DRAWS, max(1, -(-MIN_SAMPLES // (n_rows * weights.shape[1])))))
        exact_errors, statistical_errors = [], []
        for _ in range(draws):  # small layers: pool several noise draws, so the moments are not noise-limited
            if is_conv:
                exact = rows_to_image(network.exact[name].matmul(patches, generator), x.shape[0], h, w)
                statistical = network.statistical[name].conv2d(x, module.conv_spec, generator)
            else:
                exact = network.exact[name].matmul(x, generator)
                statistical = network.statistical[name].matmul(x, generator)
            exact_errors.append(exact - target)
            statistical_errors.append(statistical - target)
        mean_e, var_e = _error_moments(torch.stack(exact_errors))
        mean_s, var_s = _error_moments(torch.stack(statistical_errors))
        model = network.statistical[name].model
        rows.append(
            {
                "layer": name,
                "kind": "conv" if isinstance(module, ChipConv2d) else "linear",
                "in_features": int(weights.shape[0]),
                "out_features": int(weights.shape[1]),
                "rows": int(n_rows),
                "draws": draws,
                "exact_error_mean": mean_e,
                "exact_error_var": var_e,
                "statistical_error_mean": mean_s,
                "statistical_error_var": var_s,
                "variance_ratio": var_s / var_e if var_e > 0 else float("nan"),
                "mean_difference_in_sigma": (mean_s - mean_e) / np.sqrt(var_e) if var_e > 0 else float("nan"),
                "adc_clipping_rate": model.clipping_rate,
                "ir_residual": model.ir_residual,
            }
        )
    return rows


@torch.inference_mode()
def epsilon_agreement(
    network: ChipNetwork,
    software: torch.nn.Module,
    x0: torch.Tensor,
    alphas_cumprod,
    seed: int = 0,
    timesteps=EPSILON_TIMESTEPS,
) -> list[dict]:
    """‖ε_chip − ε_sw‖/‖ε_sw‖ at each t for the exact and the statistical engine, on x_t = √ᾱ·x0 + √(1−ᾱ)·ε."""
    if network.emulation != "statistical":
        raise ValueError("epsilon_agreement needs a ChipNetwork in statistical mode (it holds both engines)")
    data = torch.Generator().manual_seed(seed)
    out = []
    for t in timesteps:
        abar = float(alphas_cumprod[t])
        x_t = abar**0.5 * x0 + (1 - abar) ** 0.5 * torch.randn(x0.shape, generator=data)
        t_batch = torch.full((x0.shape[0],), t, dtype=torch.long)
        reference = software(x_t, t_batch).double()
        row = {"t": int(t)}
        for label, force in (("exact", True), ("statistical", False)):
            network.force_exact = force
            network.reseed_analog(seed + t)
            try:
                eps = network(x_t, t_batch).double()
            finally:
                network.force_exact = False
            row[f"{label}_relative_error"] = float(torch.linalg.norm(eps - reference) / torch.linalg.norm(reference))
        out.append(row)
    return out


def validate_profile(
    bundle, name: str, chip_seed: int = 0, calibration_batch: int = 16, epsilon_batch: int = 16, seed: int = 0
) -> dict:
    """Both measurements for preset ``name`` in statistical mode on the shipped-model chip ``chip_seed``.

    Layers are compared on the chip's own calibration batch (`diffusion.generation.generate.calibration_inputs`
    with the chip seed, as the chip was calibrated); ε on ``epsilon_batch`` software samples noised
    to each t of `EPSILON_TIMESTEPS`.
    """
    from device import profiles
    from diffusion.generation.generate import calibration_inputs
    from diffusion.generation.loop import sample
    from diffusion.generation.noise import TorchNoise
    from diffusion.generation.samplers.ddim import DDIMSampler

    profile = profiles.with_overrides(profiles.get_profile(name), {"crossbar": {"emulation": "statistical"}})
    inputs = calibration_inputs(bundle.model, bundle.alphas_cumprod, chip_seed, calibration_batch)
    network = ChipNetwork(bundle.model, profile, chip_seed, calibration_inputs=inputs)
    layers = layer_agreement(network, inputs, seed=seed)
    x0 = sample(
        bundle.model, DDIMSampler(bundle.alphas_cumprod), TorchNoise(seed + 1000), (epsilon_batch, 1, 28, 28), 10
    ).clamp(-1, 1)
    epsilon = epsilon_agreement(network, bundle.model, x0, bundle.alphas_cumprod, seed=seed)
    return {
        "profile": name,
        "chip_seed": chip_seed,
        "calibration_batch": calibration_batch,
        "epsilon_batch": epsilon_batch,
        "seed": seed,
        "layers": layers,
        "epsilon": epsilon,
    }


def markdown(results: list[dict]) -> str:
    """The docs' tables: per-profile summary of the layer agreement, the ε table, and per-layer rows."""
    lines = [
        "| profile | layers | variance ratio (min – max) | worst layer | max abs mean difference (σ of exact) | ADC clipping (max) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        for kind, label in (
            ("conv", "convolutions (run statistical)"),
            ("linear", "linear (run exact; model derived)"),
        ):
            rows = [row for row in r["layers"] if row["kind"] == kind]
            if not rows:
                continue
            ratios = [row["variance_ratio"] for row in rows]
            worst = max(rows, key=lambda row: abs(np.log(row["variance_ratio"])))
            lines.append(
                f"| `{r['profile']}` | {len(rows)} {label} | {min(ratios):.3f} – {max(ratios):.3f} | {worst['layer']} ({worst['variance_ratio']:.3f}) "
                f"| {max(abs(row['mean_difference_in_sigma']) for row in rows):.3f} "
                f"| {max(row['adc_clipping_rate'] for row in rows):.1e} |"
            )
    lines += [
        "",
        "| profile | " + " | ".join(f"t = {row['t']}" for row in results[0]["epsilon"]) + " |",
        "|---|" + "---|" * len(results[0]["epsilon"]),
    ]
    for r in results:
        cells = [f"{row['exact_relative_error']:.4f} / {row['statistical_relative_error']:.4f}" for row in r["epsilon"]]
        lines.append(f"| `{r['profile']}` (exact / statistical) | " + " | ".join(cells) + " |")
    for r in results:
        lines += [
            "",
            f"Per layer, `{r['profile']}` (error = y − x @ W on the calibration batch; rows × draws pooled):",
            "",
            "| layer | K × N | rows × draws | exact mean | exact var | statistical mean | statistical var | ratio | Δmean/σ | clipping | IR residual |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for row in r["layers"]:
            lines.append(
                f"| {row['layer']} | {row['in_features']} × {row['out_features']} | {row['rows']} × {row['draws']} "
                f"| {row['exact_error_mean']:+.2e} | {row['exact_error_var']:.3e} | {row['statistical_error_mean']:+.2e} "
                f"| {row['statistical_error_var']:.3e} | {row['variance_ratio']:.3f} | {row['mean_difference_in_sigma']:+.3f} "
                f"| {row['adc_clipping_rate']:.1e} | {row['ir_residual']:.3f} |"
            )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import argparse
    import json
    import sys
    from pathlib import Path

    from diffusion.model.checkpoints import load_bundle
    from diffusion.shipped import MODEL_DIR

    parser = argparse.ArgumentParser(
        description="statistical against exact emulation: per layer and on ε (docs/emulation.md)"
    )
    parser.add_argument("--profiles", default="vcma-default,vcma-precise,vcma-lowbit,vcma-noisy")
    parser.add_argument("--chip-seed", type=int, default=0)
    parser.add_argument("--model", help="model directory (default: the shipped model)")
    parser.add_argument("--out", default="docs/figures/emulation_validation", help="writes OUT.json and OUT.md")
    args = parser.parse_args(argv)
    bundle = load_bundle(args.model or MODEL_DIR)
    results = []
    for name in args.profiles.split(","):
        print(f"[emulation_check] {name}", file=sys.stderr, flush=True)
        results.append(validate_profile(bundle, name, chip_seed=args.chip_seed))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps({"model_sha256": bundle.sha256, "results": results}, indent=1) + "\n"
    )
    out.with_suffix(".md").write_text(markdown(results))
    print(markdown(results).split("\n\nPer layer")[0])
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
