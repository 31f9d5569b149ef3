"""The table of FIDs measured offline at large N: one entry per configuration, N and seed set.

A request's telemetry cannot compute a meaningful FID from 16 images (docs/quality.md), so it
reports the batch KID, the batch FID labelled with its N, and the FIDs this table holds for the same
configuration, each with its N. The table is a JSON file shipped with the model
(``diffusion/assets/fid_table.json``)::

    {"_about": "...", "entries": [{"model": "b0fa69e64cb54501", "sampler": "ddpm", "eta": null,
      "steps": 10, "profile": "vcma-default", "emulation": "exact", "n": 500, "seed": 0,
      "batch": 50, "images": null, "fid": 89.7, "kid_mean": 0.058, "kid_std": 0.0024, ...}, ...]}

An entry is identified by `IDENTITY`: the configuration (model hash prefix, sampler, η for samplers
that take it, steps, profile, emulation mode — ``null`` for software), the noise source (``torch``:
the stream every profile shares, so a chip and software at one seed set see the same x_T and step
noise — paired; ``mtj``: the chip's own MTJ array), the number of images N and the seed set (first
seed and batch size: batch k of an evaluation is seeded ``seed + k·batch``, so the two together fix
every image; ``images`` names a slice of a larger run when the set is one).
Recording a measurement with the identity of an existing entry replaces it; any other identity is
a new entry, so a configuration's FIDs at several N and on several seed sets sit side by side and
chip and software can be compared from the table at equal N and seeds. Besides the scores an
entry keeps the chip seed, the energy per image, the reference statistics' protocol, its source
and the date.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from device.errors import InputError
from diffusion.generation.sampler_names import sampler_spec
from diffusion.shipped import FID_TABLE

DEFAULT_TABLE = FID_TABLE
SOFTWARE = "software"
EMULATION_MODES = ("exact", "statistical")

#: the fields that name one entry: the configuration, then N and the seed set
CONFIGURATION = ("model", "sampler", "eta", "steps", "profile", "emulation")
IDENTITY = (*CONFIGURATION, "noise", "n", "seed", "batch", "images")
NOISE_SOURCES = ("torch", "mtj")

ABOUT = (
    "FIDs measured offline (the Fashion-MNIST test split, 10 000 images, the pinned Inception and the "
    "project's resize: docs/quality.md), one entry per (model, sampler, eta, steps, profile, emulation, N, "
    "seed set); the seed set is the first seed and the batch size (batch k is seeded seed + k * batch). "
    "Written by `spindiff eval --record` and `python -m diffusion.studies.quality_study --record`; read by "
    "diffusion/metrics/large_n_fids.py and fid_uncertainty.py."
)


def parse_label(profile_label: str) -> tuple[str, str | None]:
    """A telemetry profile label → (profile, emulation): ``"vcma-default/statistical"`` → statistical,
    a bare preset name → exact, ``"software"`` → (software, None)."""
    if profile_label == SOFTWARE:
        return SOFTWARE, None
    name, _, mode = profile_label.partition("/")
    mode = mode or "exact"
    if mode not in EMULATION_MODES:
        raise InputError(
            f"unknown emulation mode {mode!r} in profile label {profile_label!r}; known: {EMULATION_MODES}"
        )
    return name, mode


def configuration(model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str) -> dict:
    """The configuration fields of an entry; η is kept only for a sampler that takes η (the registry,
    `diffusion.generation.sampler_names`). An unknown sampler is an `InputError` naming the known ones."""
    profile, emulation = parse_label(profile_label)
    return {
        "model": model_sha256[:16],
        "sampler": sampler,
        "eta": float(eta) if sampler_spec(sampler).takes_eta else None,
        "steps": int(steps),
        "profile": profile,
        "emulation": emulation,
    }


def key(model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str) -> str:
    """A configuration as one readable string (``b0fa69e64cb54501/ddpm/steps=10/vcma-default``), for messages."""
    config = configuration(model_sha256, sampler, steps, eta, profile_label)
    eta_part = "" if config["eta"] is None else f"/eta={config['eta']:g}"
    return f"{config['model']}/{sampler}{eta_part}/steps={config['steps']}/{profile_label}"


def load(path: str | Path = DEFAULT_TABLE) -> list[dict]:
    """The table's entries (empty when the file does not exist yet); a malformed file is an `InputError`."""
    path = Path(path)
    if not path.is_file():
        return []
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise InputError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise InputError(
            f"{path} must hold a JSON object with a list of 'entries' (see diffusion/metrics/large_n_fids.py)"
        )
    for index, entry in enumerate(data["entries"]):
        missing = [f for f in (*IDENTITY, "fid") if not isinstance(entry, dict) or f not in entry]
        if missing:
            raise InputError(f"{path}: entry {index} lacks {missing}")
    return data["entries"]


def entries(
    model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str, path: str | Path = DEFAULT_TABLE
) -> list[dict]:
    """Every entry of one configuration, ascending N, then by seed set."""
    config = configuration(model_sha256, sampler, steps, eta, profile_label)
    found = [e for e in load(path) if all(e[f] == v for f, v in config.items())]
    return sorted(found, key=lambda e: (e["n"], _seed_order(e)))


def lookup(
    model_sha256: str, sampler: str, steps: int, eta: float, profile_label: str, path: str | Path = DEFAULT_TABLE
) -> dict | None:
    """The FID a request quotes for its configuration, or None when the table has none.

    The largest N measured (the best estimate; FID's bias shrinks with N), as the mean over that N's
    seed sets: {fid, n, sets, kid_mean, kid_std, reference, measured_at} (the last two of the newest entry).
    """
    found = entries(model_sha256, sampler, steps, eta, profile_label, path)
    if not found:
        return None
    n = found[-1]["n"]
    at_n = [e for e in found if e["n"] == n]
    newest = max(at_n, key=lambda e: e.get("measured_at") or "")
    kids = [e["kid_mean"] for e in at_n if e.get("kid_mean") is not None]
    kid_stds = [e["kid_std"] for e in at_n if e.get("kid_std") is not None]
    return {
        "fid": sum(float(e["fid"]) for e in at_n) / len(at_n),
        "n": n,
        "sets": len(at_n),
        "kid_mean": sum(kids) / len(kids) if kids else None,
        "kid_std": sum(kid_stds) / len(kid_stds) if kid_stds else None,
        "reference": newest.get("reference"),
        "measured_at": newest.get("measured_at"),
    }


def record(
    row: dict,
    model_sha256: str,
    eta: float,
    reference_record: dict,
    path: str | Path = DEFAULT_TABLE,
    source: str | None = None,
) -> str:
    """Store one evaluation row (profile label, n, steps, sampler, seed, batch, fid, kid_*) in the table.

    Replaces the entry of the same `IDENTITY`, else adds one; returns the configuration's `key`.
    Optional row fields: ``noise`` (default ``torch``, the requests' default), ``images`` (a slice of
    a larger run), and kept as they are ``chip_seed``, ``profile_hash``, ``energy_per_image_j``.
    """
    for field in ("profile", "n", "steps", "sampler", "seed", "batch", "fid"):
        if field not in row:
            raise InputError(f"an eval row needs {field!r}, got keys {sorted(row)}")
    if row.get("noise") not in (None, *NOISE_SOURCES):
        raise InputError(f"an eval row's noise must be one of {NOISE_SOURCES}, got {row['noise']!r}")
    entry = {
        **configuration(model_sha256, row["sampler"], row["steps"], eta, row["profile"]),
        "n": int(row["n"]),
        "seed": None if row["seed"] is None else int(row["seed"]),
        "batch": None if row["batch"] is None else int(row["batch"]),
        "images": row.get("images"),
        "noise": row.get("noise") or "torch",
        "fid": float(row["fid"]),
        "kid_mean": row.get("kid_mean"),
        "kid_std": row.get("kid_std"),
        **{f: row[f] for f in ("chip_seed", "profile_hash", "energy_per_image_j") if row.get(f) is not None},
        "reference": {
            **{k: reference_record.get(k) for k in ("dataset", "split", "n")},
            "weights_sha256": reference_record.get("weights_sha256")
            or reference_record.get("protocol", {}).get("weights_sha256"),
        },
        "source": source or row.get("source") or "spindiff eval --record",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = [e for e in load(path) if any(e[f] != entry[f] for f in IDENTITY)]
    write([*table, entry], path)
    return key(model_sha256, row["sampler"], row["steps"], eta, row["profile"])


def write(table: list[dict], path: str | Path = DEFAULT_TABLE) -> None:
    """Write the entries, sorted by identity, one JSON object per line inside the list (diff-friendly)."""
    ordered = sorted(table, key=lambda e: (*(str(e[f]) for f in CONFIGURATION), e["n"], _seed_order(e)))
    lines = ",\n".join("    " + json.dumps(e, sort_keys=True) for e in ordered)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{\n  "_about": {json.dumps(ABOUT)},\n  "entries": [\n{lines}\n  ]\n}}\n')


def _seed_order(entry: dict) -> tuple:
    return (entry["seed"] is None, entry["seed"] or 0, entry["batch"] or 0, str(entry["images"] or ""))
