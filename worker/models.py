"""The models the service offers, read from their ``model.json`` (plain JSON: no torch needed).

The shipped models of `diffusion.shipped.SHIPPED_MODELS`: ``default`` (``SPINDIFF_MODEL_DIR``
points elsewhere to serve another exported model under that id) and every other shipped model whose
directory holds an exported ``model.json`` (``default-hwa``, the hardware-aware fine-tuning).
Requests name a model by id or by its weights' SHA-256.
"""

from __future__ import annotations

import json
from pathlib import Path

from diffusion.shipped import SHIPPED_MODELS  # plain paths: no torch/numba behind them
from worker.settings import Settings

DEFAULT_MODEL = "default"


def model_dirs(settings: Settings, shipped: dict[str, Path] = SHIPPED_MODELS) -> dict[str, Path]:
    """{model id: directory}: ``default`` from the settings, then each shipped model that has been exported."""
    dirs = {DEFAULT_MODEL: Path(settings.model_dir)}
    for model_id, path in shipped.items():
        if model_id not in dirs and (Path(path) / "model.json").is_file():
            dirs[model_id] = Path(path)
    return dirs


def describe(model_id: str, path: Path) -> dict:
    """The public description of one model: id, SHA-256, architecture, schedule, training summary."""
    info_path = Path(path) / "model.json"
    try:
        info = json.loads(info_path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return {"id": model_id, "available": False, "reason": f"cannot read {info_path}: {error}"}
    return {
        "id": model_id,
        "available": True,
        "sha256": info.get("sha256"),
        "parameters": info.get("parameters"),
        "training_steps": info.get("steps"),
        "image_size": info.get("unet", {}).get("image_size"),
        "num_train_timesteps": info.get("schedule", {}).get("num_train_timesteps"),
        "unet": info.get("unet"),
        "schedule": info.get("schedule"),
        "final_loss": info.get("final_loss"),
        "exported_at": info.get("exported_at"),
        "fine_tuned_from": info.get("training", {}).get("init_sha256"),
        "hardware_aware": info.get("training", {}).get("hardware_aware"),
    }


def catalog(settings: Settings) -> list[dict]:
    return [describe(model_id, path) for model_id, path in model_dirs(settings).items()]


def resolve(settings: Settings, name: str) -> dict | None:
    """The model called ``name`` (id or SHA-256), or None."""
    for model in catalog(settings):
        if model.get("available") and name in (model["id"], model.get("sha256")):
            return model
    return None
