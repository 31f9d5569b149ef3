"""The models the service offers, read from their ``model.json`` (plain JSON: no torch needed).

One model today, the shipped one, served under the id ``default`` (``SPINDIFF_MODEL_DIR`` points
elsewhere to serve another exported model). Requests may name it by id or by its weights' SHA-256.
"""

from __future__ import annotations

import json
from pathlib import Path

from worker.settings import Settings

DEFAULT_MODEL = "default"


def model_dirs(settings: Settings) -> dict[str, Path]:
    return {DEFAULT_MODEL: Path(settings.model_dir)}


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
    }


def catalog(settings: Settings) -> list[dict]:
    return [describe(model_id, path) for model_id, path in model_dirs(settings).items()]


def resolve(settings: Settings, name: str) -> dict | None:
    """The model called ``name`` (id or SHA-256), or None."""
    for model in catalog(settings):
        if model.get("available") and name in (model["id"], model.get("sha256")):
            return model
    return None
