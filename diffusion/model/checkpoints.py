"""Training checkpoints (exact resume) and the shipped model format.

A training run directory (``out_dir``) holds:

| file | content |
|---|---|
| ``config.json`` | the `TrainConfig` as JSON (nested ``unet`` and ``schedule`` sections) |
| ``model.safetensors`` | the trained weights, float32; header metadata ``step`` |
| ``ema.safetensors`` | the exponential moving average of the weights; metadata ``step`` |
| ``state.pt`` | ``step``, data order (``epoch``, ``position``), optimizer state, every RNG state, wall time |
| ``loss.jsonl`` | one JSON line per logged step: ``step``, ``loss``, ``lr``, ``wall_s`` |

Every file is written atomically (temporary file in the same directory, fsync, ``os.replace``), and
``state.pt`` is replaced last: it is the commit point. The weight files carry the step in their
header, so a checkpoint torn by a hard kill between two replaces is detected on load instead of
resuming from mixed steps. ``state.pt`` holds only tensors and plain Python values and is read with
``torch.load(weights_only=True)``.

A shipped model directory holds ``model.safetensors`` (the EMA weights) and ``model.json`` (the
`UNetConfig`, the `ScheduleConfig`, steps, wall time, parameter count and the SHA-256 of the weights
file); `load_model` refuses weights whose hash does not match.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from device.errors import SpindiffError
from diffusion.model.schedule import ScheduleConfig
from diffusion.model.unet import UNet, UNetConfig, count_parameters

CONFIG_FILE = "config.json"
MODEL_FILE = "model.safetensors"
EMA_FILE = "ema.safetensors"
STATE_FILE = "state.pt"
LOSS_FILE = "loss.jsonl"
MODEL_INFO_FILE = "model.json"
MODEL_FORMAT = "spindiff-model/1"
WEIGHTS_FORMAT = "spindiff-unet/1"


class CheckpointError(SpindiffError):
    """A checkpoint or model directory is missing, torn, tampered with, or does not fit its config."""


class ConfigMismatchError(CheckpointError, ValueError):
    """A run directory was trained with a different config than the one asked to resume it."""


# --- atomic files -------------------------------------------------------------------------------------
def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a partial one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; run and model files are meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode())


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _weights_bytes(state_dict: dict[str, torch.Tensor], metadata: dict[str, str]) -> bytes:
    """The safetensors bytes of ``state_dict``, with a canonical header: the same weights and metadata
    always give the same bytes, so a model's SHA-256 names its weights. (The safetensors writer orders
    the ``__metadata__`` keys differently from one process to the next; the header is re-written with
    sorted keys, padded with spaces to its original length as the format allows.)"""
    tensors = {name: tensor.detach().contiguous() for name, tensor in state_dict.items()}
    data = save_safetensors_bytes(tensors, metadata=metadata)
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8 : 8 + length])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(canonical) > length:  # cannot happen for a reordering of the same compact JSON; keep the writer's
        return data
    return data[:8] + canonical.ljust(length, b" ") + data[8 + length :]


def _read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """(tensors, header metadata) of a safetensors file; CheckpointError when unreadable."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing")
    raw = path.read_bytes()
    try:
        tensors = load_safetensors_bytes(raw)
        header_len = int.from_bytes(raw[:8], "little")
        metadata = json.loads(raw[8 : 8 + header_len]).get("__metadata__", {}) or {}
    except (SafetensorError, ValueError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path} is not a valid safetensors file ({error})") from error
    return tensors, metadata


# --- training checkpoints -----------------------------------------------------------------------------
def has_checkpoint(out_dir: str | os.PathLike) -> bool:
    """True when ``out_dir`` holds a committed checkpoint (its ``state.pt``)."""
    return (Path(out_dir) / STATE_FILE).is_file()


def read_config(out_dir: str | os.PathLike) -> dict | None:
    """The run's ``config.json`` as a dict, or None when there is none."""
    path = Path(out_dir) / CONFIG_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path} is not valid JSON ({error})") from error


def write_config(out_dir: str | os.PathLike, config: dict) -> None:
    atomic_write_json(Path(out_dir) / CONFIG_FILE, config)


def save_checkpoint(
    out_dir: str | os.PathLike,
    model_state: dict[str, torch.Tensor],
    ema_state: dict[str, torch.Tensor],
    state: dict,
) -> None:
    """Write weights, EMA weights, then ``state.pt`` (the commit point), each atomically.

    ``state`` must contain an int ``step`` and only tensors / plain Python containers and scalars.
    """
    out = Path(out_dir)
    step = str(int(state["step"]))
    meta = {"format": WEIGHTS_FORMAT, "step": step}
    atomic_write_bytes(out / MODEL_FILE, _weights_bytes(model_state, {**meta, "kind": "model"}))
    atomic_write_bytes(out / EMA_FILE, _weights_bytes(ema_state, {**meta, "kind": "ema"}))
    buffer = io.BytesIO()
    torch.save(state, buffer)
    atomic_write_bytes(out / STATE_FILE, buffer.getvalue())


def load_checkpoint(out_dir: str | os.PathLike) -> tuple[dict, dict, dict]:
    """(model state dict, EMA state dict, state) of the committed checkpoint in ``out_dir``.

    Raises CheckpointError when a file is missing or unreadable, or the three files disagree on the step.
    """
    out = Path(out_dir)
    path = out / STATE_FILE
    if not path.is_file():
        raise CheckpointError(f"no checkpoint in {out} ({STATE_FILE} is missing)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a corrupt pickle/zip
        raise CheckpointError(f"{path} is unreadable ({type(error).__name__}: {error})") from error
    model_state, model_meta = _read_weights(out / MODEL_FILE)
    ema_state, ema_meta = _read_weights(out / EMA_FILE)
    step = str(state.get("step"))
    for name, meta in ((MODEL_FILE, model_meta), (EMA_FILE, ema_meta)):
        if meta.get("step") != step:
            raise CheckpointError(
                f"torn checkpoint in {out}: {name} is from step {meta.get('step')} but {STATE_FILE} from step "
                f"{step} (the process was killed while saving); delete the run directory or restore a backup"
            )
    return model_state, ema_state, state


def append_loss(out_dir: str | os.PathLike, record: dict) -> None:
    """Append one record to ``loss.jsonl`` (flushed, so a live run can be watched with ``tail -f``)."""
    with open(Path(out_dir) / LOSS_FILE, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def read_loss(out_dir: str | os.PathLike) -> list[dict]:
    """All records of ``loss.jsonl`` (empty when there is none)."""
    path = Path(out_dir) / LOSS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def truncate_loss(out_dir: str | os.PathLike, step: int) -> None:
    """Drop records after ``step`` (logged after the last checkpoint by a run that was hard-killed)."""
    records = read_loss(out_dir)
    kept = [r for r in records if int(r["step"]) <= step]
    if len(kept) != len(records):
        text = "".join(json.dumps(r) + "\n" for r in kept)
        atomic_write_bytes(Path(out_dir) / LOSS_FILE, text.encode())


# --- shipped model ------------------------------------------------------------------------------------
def export_model(out_dir: str | os.PathLike, dest_dir: str | os.PathLike) -> Path:
    """Write a run's EMA weights as ``dest_dir/model.safetensors`` plus ``model.json``; returns dest_dir.

    ``model.json``: format, unet, schedule, steps, wall_seconds, parameters, sha256 (of the weights
    file), weights_file, final_loss (last logged loss, or None), training (the rest of the run's
    config), exported_at (UTC ISO 8601).
    """
    out, dest = Path(out_dir), Path(dest_dir)
    config = read_config(out)
    if config is None or not has_checkpoint(out):
        raise CheckpointError(f"{out} is not a training run with a checkpoint ({CONFIG_FILE} and {STATE_FILE} needed)")
    _, ema_state, state = load_checkpoint(out)
    unet_config = UNetConfig.from_dict(config["unet"])
    schedule_config = ScheduleConfig.from_dict(config["schedule"])
    step = int(state["step"])
    dest.mkdir(parents=True, exist_ok=True)
    data = _weights_bytes(ema_state, {"format": WEIGHTS_FORMAT, "step": str(step), "kind": "ema"})
    atomic_write_bytes(dest / MODEL_FILE, data)
    losses = read_loss(out)
    info = {
        "format": MODEL_FORMAT,
        "unet": unet_config.to_dict(),
        "schedule": schedule_config.to_dict(),
        "steps": step,
        "wall_seconds": float(state.get("wall_seconds", 0.0)),
        "parameters": int(sum(t.numel() for t in ema_state.values())),
        "sha256": hashlib.sha256(data).hexdigest(),
        "weights_file": MODEL_FILE,
        "final_loss": losses[-1]["loss"] if losses else None,
        "training": {k: v for k, v in config.items() if k not in ("unet", "schedule")},
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_json(dest / MODEL_INFO_FILE, info)
    return dest


def load_model(model_dir: str | os.PathLike) -> tuple[UNet, UNetConfig, ScheduleConfig, dict]:
    """Load a shipped model: (UNet in eval mode, its UNetConfig, its ScheduleConfig, model.json dict).

    Raises CheckpointError when model.json or the weights are missing, the SHA-256 of the weights
    file differs from model.json's, or the tensors do not fit the config.
    """
    root = Path(model_dir)
    info_path = root / MODEL_INFO_FILE
    if not info_path.is_file():
        raise CheckpointError(
            f"no {MODEL_INFO_FILE} in {root}; export a trained run with `spindiff export-model --run RUN --dest {root}`"
        )
    try:
        info = json.loads(info_path.read_text())
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{info_path} is not valid JSON ({error})") from error
    if info.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{info_path}: format {info.get('format')!r} is not {MODEL_FORMAT!r}")
    weights = root / info.get("weights_file", MODEL_FILE)
    if not weights.is_file():
        raise CheckpointError(f"{weights} is missing")
    actual = sha256_file(weights)
    if actual != info.get("sha256"):
        raise CheckpointError(
            f"sha256 mismatch for {weights}: {MODEL_INFO_FILE} says {info.get('sha256')}, the file has {actual}; "
            "the weights were modified or belong to another model"
        )
    unet_config = UNetConfig.from_dict(info["unet"])
    schedule_config = ScheduleConfig.from_dict(info["schedule"])
    tensors, _ = _read_weights(weights)
    with torch.random.fork_rng(devices=[]):  # the random init is overwritten; keep the caller's RNG intact
        model = UNet(unet_config)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"{weights} does not fit the UNetConfig in {MODEL_INFO_FILE}: {error}") from error
    if count_parameters(model) != info.get("parameters"):
        raise CheckpointError(
            f"{info_path}: parameters {info.get('parameters')} but the model has {count_parameters(model)}"
        )
    model.eval()
    return model, unet_config, schedule_config, info


@dataclass(frozen=True)
class ModelBundle:
    """A loaded shipped model with what a generation request needs from it (`diffusion.generation.generate`)."""

    model: UNet
    unet: UNetConfig
    schedule: ScheduleConfig
    info: dict

    @property
    def sha256(self) -> str:
        """SHA-256 of the weights file: the model's identity in telemetry and chip caches."""
        return self.info["sha256"]

    @property
    def image_size(self) -> int:
        return self.unet.image_size

    @property
    def alphas_cumprod(self) -> np.ndarray:
        """ᾱ of the training schedule, float64 (T,)."""
        return self.schedule.alphas_cumprod()


def load_bundle(model_dir: str | os.PathLike) -> ModelBundle:
    """`load_model` packed as a `ModelBundle`."""
    return ModelBundle(*load_model(model_dir))
