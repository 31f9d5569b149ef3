"""Programmed, calibrated chips saved to and loaded from disk, so a worker skips programming.

One file per chip: an uncompressed ``.npz`` (numpy arrays only, loaded with ``allow_pickle=False``)
whose ``metadata`` entry is UTF-8 JSON. Layout:

| entry | holds |
|---|---|
| ``metadata`` | JSON: ``format_version``, ``profile_hash``, ``profile_name``, ``chip_seed``, ``compute_dtype``, |
| | ``layers`` (names in programming order) with each one's ``write_stats``, ``rng`` (knob, counters, |
| | calibration cycles/ones), ``rng_seen``, ``ledger`` |
| ``layer{i}.g_pos``, ``.g_neg``, ``.col_scale``, ``.adc_range``, ``.output_gain`` | layer i's `ProgrammedMatrix` arrays (float64) |
| ``rng.population.{field}`` | the random-bit devices' K_i0, R_P, TMR, stray field |
| ``rng.knob_values``, ``rng.probabilities`` | each device's calibrated knob and switching probability |
| ``rng.calibration.{codes, knob_values, last_measured_fraction}`` | the SAR result (absent without calibration) |
| ``rng.stream_states``, ``rng.stream_buffer`` | the bit streams where they stand (xoshiro256** states, unread words) |

A loaded chip equals the saved one in everything it computes: the same conductances, ADC ranges
and gains (so `Chip.matmul` gives the same outputs for the same noise generator), the same random
source (its next bits, and after ``chip.rng.reseed(s)`` the same stream as the original reseeded
with s), the same ledger. The profile itself is not stored: the caller passes it and its hash must
match the file's (the file holds a chip of one design). Saving is atomic (a temporary file in the
same directory, then `os.replace`), so a crash leaves the old file or none, never half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from device import crossbar, profiles
from device.chip import Chip
from device.crossbar_programming import WriteStats
from device.errors import InputError
from device.ledger import PHASES, Ledger
from device.rng import MTJRandomSource

FORMAT_VERSION = 1
_LAYER_ARRAYS = ("g_pos", "g_neg", "col_scale", "adc_range", "output_gain")
_POPULATION_FIELDS = ("interfacial_anisotropy", "resistance_parallel", "tmr", "stray_field")
_CALIBRATION_ARRAYS = ("codes", "knob_values", "last_measured_fraction")


class ChipFileError(InputError):
    """A chip file that cannot be read, or holds a chip of another design or format version."""


def save_chip(chip: Chip, path) -> None:
    """Write ``chip`` (programmed layers, random source, ledger) to ``path`` atomically."""
    if not isinstance(chip, Chip):
        raise InputError(f"save_chip needs a device.chip.Chip, got {type(chip).__name__}")
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    layers = []
    for index, (name, matrix) in enumerate(chip.layers.items()):
        for key in _LAYER_ARRAYS:
            arrays[f"layer{index}.{key}"] = np.asarray(getattr(matrix, key), dtype=np.float64)
        layers.append(
            {"name": name, "write_stats": vars(matrix.write_stats).copy(), "compute_dtype": matrix.compute_dtype.name}
        )
    state = chip.rng.snapshot()
    for field, values in zip(_POPULATION_FIELDS, state["population"]):
        arrays[f"rng.population.{field}"] = values
    for key in ("knob_values", "probabilities", "stream_states", "stream_buffer"):
        arrays[f"rng.{key}"] = state[key]
    calibration = state["calibration"]
    if calibration is not None:
        for key in _CALIBRATION_ARRAYS:
            arrays[f"rng.calibration.{key}"] = calibration[key]
    metadata = {
        "format_version": FORMAT_VERSION,
        "profile_hash": chip.profile.hash,
        "profile_name": chip.profile.name,
        "chip_seed": int(chip.chip_seed),
        "compute_dtype": np.dtype(chip.compute_dtype).name,
        "layers": layers,
        "rng": {
            "knob": state["knob"],
            "counters": state["counters"],
            "calibration": None
            if calibration is None
            else {"cycles": calibration["cycles"], "ones": calibration["ones"]},
        },
        "rng_seen": chip._rng_seen,
        "ledger": chip.ledger.to_dict(),
    }
    arrays["metadata"] = np.frombuffer(json.dumps(metadata).encode("utf-8"), dtype=np.uint8)
    atomic_savez(path, arrays)


def atomic_savez(path, arrays: dict) -> None:
    """``np.savez`` of ``arrays`` to ``path`` through a temporary file in the same directory and `os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def load_chip(path, profile: profiles.HardwareProfile) -> Chip:
    """The chip saved in ``path``; ``profile`` must be the design it was built with (same hash)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise ChipFileError(f"no chip file at {str(path)!r}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise ChipFileError(
            f"chip file {str(path)!r} is unreadable or truncated ({type(error).__name__}: {error})"
        ) from None
    try:
        metadata = json.loads(arrays.pop("metadata").tobytes().decode("utf-8"))
    except KeyError:
        raise ChipFileError(f"chip file {str(path)!r} has no metadata entry: not a spindiff chip file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ChipFileError(f"chip file {str(path)!r} has unreadable metadata ({error})") from None
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ChipFileError(
            f"chip file {str(path)!r} has format version {version!r}; this spindiff reads version {FORMAT_VERSION}"
        )
    if metadata.get("profile_hash") != profile.hash:
        raise ChipFileError(
            f"chip file {str(path)!r} holds a chip of profile {metadata.get('profile_name')!r} (hash {metadata.get('profile_hash')}), "
            f"not of the profile given, {profile.name!r} (hash {profile.hash})"
        )
    try:
        return _build(arrays, metadata, profile)
    except KeyError as error:
        raise ChipFileError(f"chip file {str(path)!r} lacks entry {error.args[0]!r}") from None


def _build(arrays: dict, metadata: dict, profile: profiles.HardwareProfile) -> Chip:
    p = profile
    layers = {}
    for index, entry in enumerate(metadata["layers"]):
        a = {key: arrays[f"layer{index}.{key}"] for key in _LAYER_ARRAYS}
        if a["g_pos"].shape != a["g_neg"].shape or a["g_pos"].ndim != 2:
            raise ChipFileError(
                f"layer {entry['name']!r}: g_pos {a['g_pos'].shape} and g_neg {a['g_neg'].shape} must be equal 2-D shapes"
            )
        matrix = crossbar.ProgrammedMatrix(
            p.mtj,
            p.crossbar,
            p.technology,
            a["g_pos"],
            a["g_neg"],
            a["col_scale"],
            WriteStats(**entry["write_stats"]),
            np.dtype(entry["compute_dtype"]),
        )
        if a["adc_range"].shape != matrix.adc_range.shape or a["output_gain"].shape != matrix.output_gain.shape:
            raise ChipFileError(
                f"layer {entry['name']!r}: adc_range {a['adc_range'].shape} / output_gain {a['output_gain'].shape} "
                f"do not fit its conductances {a['g_pos'].shape}"
            )
        matrix.adc_range = a["adc_range"]
        matrix.output_gain = a["output_gain"]
        layers[entry["name"]] = matrix
    rng_meta = metadata["rng"]
    calibration = None
    if rng_meta["calibration"] is not None:
        calibration = {key: arrays[f"rng.calibration.{key}"] for key in _CALIBRATION_ARRAYS} | rng_meta["calibration"]
    state = {
        "counters": rng_meta["counters"],
        "population": [arrays[f"rng.population.{field}"] for field in _POPULATION_FIELDS],
        "knob": rng_meta["knob"],
        "knob_values": arrays["rng.knob_values"],
        "probabilities": arrays["rng.probabilities"],
        "calibration": calibration,
        "stream_states": arrays["rng.stream_states"],
        "stream_buffer": arrays["rng.stream_buffer"],
    }
    rng = MTJRandomSource.restore(p.mtj, p.rng, state)
    ledger = Ledger()
    for phase in PHASES:
        ledger.add(phase, **metadata["ledger"][phase])
    return Chip.restore(
        p, metadata["chip_seed"], np.dtype(metadata["compute_dtype"]).type, ledger, layers, rng, metadata["rng_seen"]
    )
