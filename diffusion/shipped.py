"""Where the shipped assets live: the default model, the FID reference statistics, the FID table.

Serving needs only these files (no dataset): the model's safetensors and card, and the test-set
reference statistics with their protocol record (`diffusion.reference_stats`).
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
MODEL_DIR = ASSETS / "model"
REFERENCE_STATS = ASSETS / "fmnist_test_stats.npz"
FID_TABLE = ASSETS / "fid_table.json"
