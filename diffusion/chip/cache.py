"""Programmed, calibrated chips cached on disk, keyed by (model hash, profile hash, chip seed).

Programming and calibrating the shipped model's chip costs seconds (and more for 64×64 tiles); a
restarted worker, a second worker process or a repeated override would pay it again. After a
`ChipNetwork` is built it is written here, and `get_chip_network` (diffusion/generation/generate.py) loads it
instead of programming when the same chip is asked for again.

A cache entry is two files in ``SPINDIFF_CHIP_DIR`` (default ``~/.cache/spindiff/chips``; ``off``
disables the cache), both written atomically (temporary file, then `os.replace`):

| file | holds |
|---|---|
| ``KEY.chip.npz`` | the `device.chip.Chip` (`device.chip_store`: conductances, ADC ranges, gains, random source, ledger) |
| ``KEY.network.npz`` | the diffusion side: in-loop trims (gain, offset per output) and the statistical models (`device.statistical.StatisticalModel` fields) |

KEY = model SHA-256 (16 hex) – profile hash (16 hex) – chip seed – calibration batch – emulator
source hash (16 hex). The last part is the SHA-256 of the emulator's source files (`device/*.py` and
the chip backend's modules), so a chip programmed by other code is never reused. Entries beyond
``SPINDIFF_CHIP_CACHE_MB`` (default 4096 MB) are removed, least recently used first. An unreadable
or foreign entry is reported in the log and rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from device.chip_store import ChipFileError, atomic_savez, load_chip, save_chip
from device.errors import InputError
from device.statistical import StatisticalModel

log = logging.getLogger("spindiff.chip_cache")

ENV_DIR = "SPINDIFF_CHIP_DIR"
ENV_MAX_MB = "SPINDIFF_CHIP_CACHE_MB"
DEFAULT_DIR = Path.home() / ".cache" / "spindiff" / "chips"
FORMAT_VERSION = 1
_SOURCES = (
    "device",
    "diffusion/chip/backend.py",
    "diffusion/chip/crossbar_torch.py",
    "diffusion/chip/crossbar_statistical.py",
    "diffusion/chip/cache.py",
)


def cache_dir() -> Path | None:
    """The cache directory from ``SPINDIFF_CHIP_DIR`` (None when it is ``off``)."""
    value = os.environ.get(ENV_DIR, "").strip()
    if value.lower() in ("off", "none", "0"):
        return None
    return Path(value).expanduser() if value else DEFAULT_DIR


def max_bytes() -> int:
    raw = os.environ.get(ENV_MAX_MB, "4096")
    try:
        megabytes = float(raw)
    except ValueError:
        raise InputError(f"{ENV_MAX_MB} must be a number of megabytes, got {raw!r}") from None
    if megabytes < 0:
        raise InputError(f"{ENV_MAX_MB} must be >= 0, got {raw!r}")
    return int(megabytes * 2**20)


@lru_cache(maxsize=1)
def source_hash() -> str:
    """SHA-256 of the emulator's source text (device/*.py and the chip backend's modules)."""
    root = Path(__file__).resolve().parents[2]  # the repository (this file is diffusion/chip/cache.py)
    digest = hashlib.sha256()
    for entry in _SOURCES:
        path = root / entry
        for file in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def key(model_sha256: str, profile, chip_seed: int, calibration_batch: int) -> str:
    return f"{model_sha256[:16]}-{profile.hash[:16]}-{int(chip_seed)}-{int(calibration_batch)}-{source_hash()[:16]}"


def save(network, entry_key: str, directory: Path) -> None:
    """Write ``network`` (a calibrated `diffusion.chip.backend.ChipNetwork`) as cache entry ``entry_key``."""
    directory.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {}
    for name, (gain, offset) in network.trims.items():
        arrays[f"trim/{name}/gain"] = gain.double().cpu().numpy()
        arrays[f"trim/{name}/offset"] = offset.double().cpu().numpy()
    for name, engine in network.statistical.items():
        for f in fields(StatisticalModel):
            arrays[f"stat/{name}/{f.name}"] = np.asarray(getattr(engine.model, f.name))
    meta = {
        "format_version": FORMAT_VERSION,
        "key": entry_key,
        "trims": list(network.trims),
        "statistical": list(network.statistical),
    }
    arrays["metadata"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    save_chip(network.chip, directory / f"{entry_key}.chip.npz")
    atomic_savez(directory / f"{entry_key}.network.npz", arrays)
    _evict(directory, max_bytes())


def load(entry_key: str, directory: Path, profile):
    """(chip, trims {name: (gain, offset)}, statistical models {name: StatisticalModel}) or None when absent or unusable."""
    chip_path, network_path = directory / f"{entry_key}.chip.npz", directory / f"{entry_key}.network.npz"
    if not (chip_path.is_file() and network_path.is_file()):
        return None
    try:
        chip = load_chip(chip_path, profile)
        with np.load(network_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        meta = json.loads(arrays["metadata"].tobytes().decode())
        if meta.get("format_version") != FORMAT_VERSION or meta.get("key") != entry_key:
            raise ChipFileError(f"{network_path} is format {meta.get('format_version')!r} of key {meta.get('key')!r}")
        trims = {name: (arrays[f"trim/{name}/gain"], arrays[f"trim/{name}/offset"]) for name in meta["trims"]}
        models = {}
        for name in meta["statistical"]:
            values = {f.name: arrays[f"stat/{name}/{f.name}"] for f in fields(StatisticalModel)}
            for scalar in ("mean_magnitude", "read_voltage", "clipping_rate", "ir_residual"):
                values[scalar] = float(values[scalar])
            values["input_bits"] = int(values["input_bits"])
            values["input_mode"] = str(values["input_mode"])
            values["plane_weights"] = tuple(float(w) for w in values["plane_weights"])
            models[name] = StatisticalModel(**values)
    except (ChipFileError, KeyError, OSError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError) as error:
        log.warning("chip cache entry %s is unusable, programming again: %s", entry_key, error)
        return None
    for path in (chip_path, network_path):
        os.utime(path)  # least recently used = oldest access
    return chip, trims, models


def _evict(directory: Path, budget: int) -> None:
    """Delete whole entries, oldest first, until the cache holds at most ``budget`` bytes."""
    entries: dict[str, list[Path]] = {}
    for path in directory.glob("*.npz"):
        entries.setdefault(path.name.split(".")[0], []).append(path)
    sized = sorted(entries.values(), key=lambda files: max(f.stat().st_mtime for f in files))
    total = sum(f.stat().st_size for files in sized for f in files)
    for files in sized[:-1]:  # never the entry just written
        if total <= budget:
            break
        for f in files:
            total -= f.stat().st_size
            f.unlink(missing_ok=True)
