"""Where the shipped assets live: the models, the FID reference statistics, the FID table.

Serving needs only these files (no dataset): the model's safetensors and card, and the test-set
reference statistics with their protocol record (`diffusion.metrics.reference_stats`).
"""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
MODEL_DIR = ASSETS / "model"
#: The hardware-aware fine-tuning of the default model (`spindiff train --hardware-aware`).
HWA_MODEL_DIR = ASSETS / "model-hwa"
#: Every shipped model by the id requests name it with; a model is offered once its directory holds
#: an exported ``model.json`` (`worker.models`).
SHIPPED_MODELS = {"default": MODEL_DIR, "default-hwa": HWA_MODEL_DIR}
REFERENCE_STATS = ASSETS / "fmnist_test_stats.npz"
FID_TABLE = ASSETS / "fid_table.json"
