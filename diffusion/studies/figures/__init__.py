"""The scripts that draw the documentation's figures into docs/figures/ (SVG and PNG, from measured JSON lines).

``python -m diffusion.studies.figures.physics`` (compact model against the macrospin, calibration),
``python -m diffusion.studies.figures.quality`` (the quality study's FIDs, ε errors and sweeps),
``python -m diffusion.studies.figures.sample_panels`` (image panels),
``python -m diffusion.studies.figures.fid_energy`` (FID against energy per image, from the FID table); `svg_plot` is their plotting
helper (numpy only).
"""

from pathlib import Path

#: docs/figures/ of the repository, where every figure and its data live.
FIGURES = Path(__file__).resolve().parents[3] / "docs" / "figures"
DOCS = FIGURES.parent
