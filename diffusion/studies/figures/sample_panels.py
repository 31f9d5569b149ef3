"""Side-by-side sample grids of several study variants (same seeds), from the images the quality study kept.

    python -m diffusion.studies.figures.sample_panels [--images docs/figures/headline.images] \\
        [--labels software,vcma-default,in-loop,vcma-precise] [--count 24] [--out docs/images/chip_profiles_ddpm10.png]

Each panel is the first ``count`` images of one variant (6 per row, 2× scale) under its label, so the
rows line up image for image: batch k of every variant starts from the same seed (the chip draws its
own MTJ noise, so chip and software images are not pixel twins).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from diffusion.studies.figures import DOCS as _DOCS

DOCS = _DOCS  # docs/ of the repository
COLUMNS, SCALE, PAD, TITLE = 6, 2, 4, 18


def panel(images: np.ndarray, label: str) -> Image.Image:
    rows = -(-images.shape[0] // COLUMNS)
    size = 28 * SCALE
    canvas = Image.new("L", (COLUMNS * (size + PAD) + PAD, TITLE + rows * (size + PAD) + PAD), 255)
    ImageDraw.Draw(canvas).text((PAD, 3), label, fill=0)
    for i, image in enumerate(images):
        tile = Image.fromarray(image).resize((size, size), Image.NEAREST)
        canvas.paste(tile, (PAD + (i % COLUMNS) * (size + PAD), TITLE + (i // COLUMNS) * (size + PAD)))
    return canvas


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", default=str(DOCS / "figures" / "headline.images"))
    parser.add_argument("--labels", default="software,vcma-default,in-loop,vcma-precise")
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument(
        "--pattern", default="{label}-*-ddpm10-n500-seed0-b50.npz", help="file name pattern, {label} filled in"
    )
    parser.add_argument("--out", default=str(DOCS / "images" / "chip_profiles_ddpm10.png"))
    args = parser.parse_args(argv)
    panels = []
    for label in args.labels.split(","):
        found = sorted(Path(args.images).glob(args.pattern.format(label=label)))
        if not found:
            raise SystemExit(
                f"no images for {label!r} in {args.images} (pattern {args.pattern}); run the quality study first"
            )
        with np.load(found[0]) as data:
            panels.append(panel(data["images"][: args.count], label))
    width = sum(p.width for p in panels)
    sheet = Image.new("L", (width, max(p.height for p in panels)), 255)
    x = 0
    for p in panels:
        sheet.paste(p, (x, 0))
        x += p.width
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({len(panels)} panels)")


if __name__ == "__main__":
    main()
