"""The table of FIDs measured offline at large N, keyed by (model, sampler, steps, η, profile).

A request's telemetry cannot compute a meaningful FID from 16 images (quality.md), so it reports the
batch KID, the batch FID labelled with its N, and — when this table has an entry for the same
configuration — the FID that `spindiff eval --record` measured for it at large N. The table is a
JSON file shipped with the model (``diffusion/assets/fid_table.json``); entries record N, the
reference statistics' protocol and the date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from device.errors import InputError
from diffusion.generation.sampler_names import sampler_spec
from diffusion.shipped import FID_TABLE

DEFAULT_TABLE = FID_TABLE


def key(model_sha256: str, sampler: str, steps: int, eta: float, profile: str) -> str:
    """The lookup key of one configuration; η is part of it only for a sampler that takes η (the registry,
    `diffusion.generation.sampler_names`). An unknown sampler is an `InputError` naming the known ones."""
    eta_part = f"/eta={eta:g}" if sampler_spec(sampler).takes_eta else ""
    return f"{model_sha256[:16]}/{sampler}{eta_part}/steps={int(steps)}/{profile}"


def load(path: str | Path = DEFAULT_TABLE) -> dict:
    """The table as a dict (empty when the file does not exist yet)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{path} must hold a JSON object keyed by configuration")
    return data


def lookup(
    model_sha256: str, sampler: str, steps: int, eta: float, profile: str, path: str | Path = DEFAULT_TABLE
) -> dict | None:
    """The recorded large-N FID entry for this configuration, or None."""
    return load(path).get(key(model_sha256, sampler, steps, eta, profile))


def record(row: dict, model_sha256: str, eta: float, reference_record: dict, path: str | Path = DEFAULT_TABLE) -> str:
    """Add one `spindiff eval` row (profile, n, steps, sampler, fid, kid_*) to the table; returns its key.

    An entry measured at a larger N is kept (a bigger sample is the better estimate); an equal or
    smaller N replaces it with the newer measurement.
    """
    for field in ("profile", "n", "steps", "sampler", "fid"):
        if field not in row:
            raise InputError(f"an eval row needs {field!r}, got keys {sorted(row)}")
    table = load(path)
    entry_key = key(model_sha256, row["sampler"], row["steps"], eta, row["profile"])
    if entry_key in table and table[entry_key]["n"] > int(row["n"]):
        return entry_key
    table[entry_key] = {
        "fid": float(row["fid"]),
        "n": int(row["n"]),
        "kid_mean": row.get("kid_mean"),
        "kid_std": row.get("kid_std"),
        "reference": {
            **{k: reference_record.get(k) for k in ("dataset", "split", "n")},
            "weights_sha256": reference_record.get("weights_sha256")
            or reference_record.get("protocol", {}).get("weights_sha256"),
        },
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return entry_key
