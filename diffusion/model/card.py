"""The shipped model's card: MODEL_CARD.md and a loss-curve SVG next to model.safetensors.

Written from the model's ``model.json`` and the training run's ``loss.jsonl`` by
``python -m diffusion.model.card --model DIR --run RUN [--fid JSON] [--samples]``. The quality
section lists every FID the offline table (``diffusion/assets/fid_table.json``) holds for the model's
weights, each with its N, seed set, noise source and emulation mode, so the card never disagrees with
what requests quote; ``--fid`` adds the rows of one ``spindiff eval`` output, and the card says so when
neither has anything. ``--samples`` also draws ``sample_grid.png`` (software, DDPM 50 steps, seed 7,
64 images), which the card shows when present.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from diffusion.model.checkpoints import read_loss

W, H, LEFT, RIGHT, TOP, BOTTOM = 640, 300, 70, 20, 30, 50
#: the sample grid's request: software, DDPM, 50 steps (the service's default), seed 7, 8 × 8 images
GRID_STEPS, GRID_SEED, GRID_IMAGES = 50, 7, 64


def loss_curve_svg(records: list[dict]) -> str:
    """Training loss (log scale) against step as a standalone SVG with labelled axes."""
    steps = [r["step"] for r in records if r.get("loss", 0) > 0]
    losses = [r["loss"] for r in records if r.get("loss", 0) > 0]
    if not steps:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    x0, x1 = 0, max(steps)
    y0, y1 = math.floor(math.log10(min(losses))), math.ceil(math.log10(max(losses)))
    y1 = y1 if y1 > y0 else y0 + 1
    sx = lambda s: LEFT + (s - x0) / max(x1 - x0, 1) * (W - LEFT - RIGHT)  # noqa: E731
    sy = lambda v: TOP + (y1 - math.log10(v)) / (y1 - y0) * (H - TOP - BOTTOM)  # noqa: E731
    parts = [
        f'<rect width="{W}" height="{H}" fill="white"/>',
        f'<text x="{W / 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold">training loss (ε-MSE)</text>',
        f'<rect x="{LEFT}" y="{TOP}" width="{W - LEFT - RIGHT}" height="{H - TOP - BOTTOM}" fill="none" stroke="#333"/>',
    ]
    for exponent in range(y0, y1 + 1):
        y = sy(10.0**exponent)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">1e{exponent}</text>')
    for k in range(6):
        s = x0 + k * (x1 - x0) / 5
        parts.append(f'<text x="{sx(s):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle" font-size="11">{int(s)}</text>')
    parts.append(f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle" font-size="12">training step</text>')
    parts.append(
        f'<text x="16" y="{H / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 16 {H / 2})">loss</text>'
    )
    path = " ".join(f"{'M' if i == 0 else 'L'}{sx(s):.1f},{sy(v):.1f}" for i, (s, v) in enumerate(zip(steps, losses)))
    parts.append(f'<path d="{path}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>')
    body = "\n".join(parts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif">\n{body}\n</svg>\n'
    )


def _introduction(training: dict) -> list[str]:
    """The card's title and first paragraph: a model trained from scratch, or a (hardware-aware) fine-tuning."""
    hardware = training.get("hardware_aware")
    if not training.get("init_model"):
        return [
            "# spindiff default model",
            "",
            "An ε-prediction U-Net for 28×28 Fashion-MNIST (Xiao et al. 2017, MIT licence), trained by",
            "`spindiff train --config default`; these are its EMA weights. Every weight layer is a Conv2d or",
            "Linear, so the chip backend runs all of them on the emulated crossbars.",
        ]
    start = f"the model with weights `{training.get('init_sha256', '?')[:16]}…`"
    if hardware is None:
        return [
            "# spindiff fine-tuned model",
            "",
            f"A fine-tuning of {start} (`spindiff train --init`); its EMA weights.",
        ]
    return [
        "# spindiff default-hwa model",
        "",
        f"A hardware-aware fine-tuning of {start} (`spindiff train --hardware-aware {hardware['profile']}`):",
        f"trained with the errors of a `{hardware['profile']}` chip (chip seed {hardware['chip_seed']}, noise scale",
        f"{hardware['noise_scale']}) in every crossbar layer's forward pass — fresh weight errors of the chip's RMS each",
        "step, its IR-drop slope, its read and ADC noise, its DAC rounding (diffusion/model/hardware_aware.py). These are",
        "its EMA weights, an ordinary U-Net: the chip is programmed and calibrated with them as with any model.",
    ]


def _table_sort_key(entry: dict) -> tuple:
    """Software first within a (sampler, steps); then profile, emulation, N (large first), seed."""
    return (
        entry["sampler"],
        entry["steps"],
        entry["profile"] != "software",
        entry["profile"],
        entry.get("emulation") or "",
        -entry["n"],
        entry.get("seed") if entry.get("seed") is not None else -1,
    )


def table_rows(sha256: str, table_path: str | Path) -> list[str]:
    """The markdown rows of every FID-table entry of the model with weights ``sha256`` (the table's
    ``model`` is the hash's first 16 hex digits), one per (configuration, N, seed set); [] if none."""
    path = Path(table_path)
    if not path.is_file():
        return []
    entries = [e for e in json.loads(path.read_text())["entries"] if e["model"] == sha256[:16]]
    rows = []
    for e in sorted(entries, key=_table_sort_key):
        sampler = e["sampler"].upper() + (f" η={e['eta']:g}" if e.get("eta") is not None else "")
        seeds = "–" if e.get("seed") is None else f"{e['seed']} ({e['batch']})"
        if e.get("images"):
            seeds += f", images {e['images']}"
        energy = e.get("energy_per_image_j")
        rows.append(
            f"| {e['profile']} | {e.get('emulation') or '–'} | {sampler} {e['steps']} | {e.get('noise') or '–'} "
            f"| {e['n']} | {seeds} | {e['fid']:.2f} | {1e3 * e['kid_mean']:.1f} ± {1e3 * e['kid_std']:.1f} "
            f"| {'–' if energy is None else f'{energy * 1e6:.1f} µJ'} |"
        )
    return rows


def write_sample_grid(model_dir: str | Path) -> Path:
    """Draw ``sample_grid.png`` into ``model_dir``: ``GRID_IMAGES`` software images of the model there
    (DDPM, ``GRID_STEPS`` steps, seed ``GRID_SEED``), 8 columns, 3× nearest-neighbour scale."""
    from diffusion.generation.generate import GenerationRequest, generate
    from diffusion.generation.images import grid, png_bytes
    from diffusion.model.checkpoints import load_bundle

    model_dir = Path(model_dir)
    request = GenerationRequest(
        profile="software", num_images=GRID_IMAGES, steps=GRID_STEPS, sampler="ddpm", seed=GRID_SEED
    )
    result = generate(request, load_bundle(model_dir))
    out = model_dir / "sample_grid.png"
    out.write_bytes(png_bytes(grid(result.images, columns=8), scale=3))
    return out


def write_model_card(
    model_dir: str | Path,
    run_dir: str | Path,
    evaluation: dict | None = None,
    table_path: str | Path | None = None,
) -> Path:
    """Write ``MODEL_CARD.md`` and ``loss_curve.svg`` into ``model_dir``; returns the card's path.

    ``table_path``: the FID table whose entries for this model the card lists (default: the shipped
    one, ``diffusion.shipped.FID_TABLE``)."""
    from diffusion.shipped import FID_TABLE

    model_dir, run_dir = Path(model_dir), Path(run_dir)
    info = json.loads((model_dir / "model.json").read_text())
    records = read_loss(run_dir)
    (model_dir / "loss_curve.svg").write_text(loss_curve_svg(records))
    unet, schedule, training = info["unet"], info["schedule"], info.get("training", {})
    hours = info.get("wall_seconds", 0.0) / 3600.0
    lines = [*_introduction(training), ""]
    lines += [
        "| | |",
        "|---|---|",
        f"| parameters | {info['parameters']:,} |",
        f"| U-Net | base {unet['base_channels']} channels × {tuple(unet['channel_mults'])}, "
        f"{unet['num_res_blocks']} residual blocks per level, GroupNorm({unet['norm_groups']}), "
        f"time embedding {unet['time_embed_dim']} |",
        f"| schedule | {schedule['kind']}, T = {schedule['num_train_timesteps']} |",
        f"| training steps | {info['steps']:,} of a planned {training.get('total_steps', '?'):,} "
        f"(batch {training.get('batch_size', '?')}, AdamW lr {training.get('lr', '?')}, EMA {training.get('ema_decay', '?')}) |",
        f"| wall time | {hours:.2f} h on 2 CPU cores |",
        f"| final logged loss | {info.get('final_loss')} |",
        f"| weights sha256 | `{info['sha256']}` |",
        "",
        "![training loss](loss_curve.svg)",
        "",
    ]
    if (model_dir / "sample_grid.png").is_file():
        lines += [
            f"Samples (software, DDPM {GRID_STEPS} steps, seed {GRID_SEED}; `python -m diffusion.model.card --samples`):",
            "",
            "![samples](sample_grid.png)",
            "",
        ]
    lines += ["## Quality", ""]
    rows = table_rows(info["sha256"], FID_TABLE if table_path is None else table_path)
    if rows:
        lines += [
            "Every FID the offline table (`diffusion/assets/fid_table.json`) holds for these weights, against the",
            "Fashion-MNIST test split (10 000 images, the pinned Inception; protocol in docs/quality.md). FIDs are",
            "comparable only at the same N; rows with the same N, seed set and `torch` noise are paired (chip and",
            "software share x_T and every step's noise). The seed set is the first seed and the batch size.",
            "",
            "| profile | emulation | sampler, steps | noise | N | seeds (batch) | FID | KID ×10³ | chip energy / image |",
            "|---|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    if evaluation:
        lines += ["| configuration | N | FID | KID |", "|---|---|---|---|"]
        for row in evaluation.get("rows", []):
            lines.append(
                f"| {row['profile']} | {row['n']} | {row['fid']:.2f} | {row['kid_mean']:.4f} ± {row['kid_std']:.4f} |"
            )
    if not rows and not evaluation:
        lines.append(
            "FID has not been measured for this snapshot yet (`spindiff eval`; needs the test-set reference statistics)."
        )
    card = model_dir / "MODEL_CARD.md"
    card.write_text("\n".join(lines) + "\n")
    return card


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="write MODEL_CARD.md and loss_curve.svg for a shipped model")
    parser.add_argument("--model", required=True)
    parser.add_argument("--run", required=True)
    parser.add_argument("--fid", help="JSON output of `spindiff eval` to include")
    parser.add_argument("--table", help="FID table to list the model's entries from (default: the shipped one)")
    parser.add_argument(
        "--samples", action="store_true", help="also draw sample_grid.png (software, DDPM 50 steps, seed 7)"
    )
    args = parser.parse_args(argv)
    evaluation = json.loads(Path(args.fid).read_text()) if args.fid else None
    if args.samples:
        print(write_sample_grid(args.model))
    print(write_model_card(args.model, args.run, evaluation, args.table))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
