"""The hardware-profile catalog as a small helper process, so the API never imports the emulator.

`device.profiles` imports numba (through `device.rng`), and the API process must stay free of torch
and numba. The API therefore starts ``python -m worker.catalog`` once and asks it, one JSON line per
request on stdin, one JSON line per answer on stdout:

| request | answer ``result`` |
|---|---|
| ``{"op": "list"}`` | ``[{name, description, hash}]`` |
| ``{"op": "get", "name": N}`` | ``{name, description, hash, profile}`` |
| ``{"op": "resolve", "name": N, "overrides": {...}}`` | ``{name, hash, profile}`` after `device.profiles.with_overrides` |

Errors answer ``{"ok": false, "error": {"type", "message", "field"}}``; ``field`` names the override
that failed (``rng.dac_bits``), found by applying the overrides one at a time. The helper runs no
numba kernel: it only builds and validates frozen parameter dataclasses.
"""

from __future__ import annotations

import json
import sys


def _field_of(profiles, base, overrides: dict) -> str | None:
    """The first ``section.key`` (or section) of ``overrides`` that fails on its own, else None."""
    for section, values in overrides.items():
        try:
            profiles.with_overrides(base, {section: {}})
        except Exception:  # noqa: BLE001 - an unknown section
            return section
        if not isinstance(values, dict):
            return section
        for key, value in values.items():
            try:
                profiles.with_overrides(base, {section: {key: value}})
            except Exception:  # noqa: BLE001 - any failure names this key
                return f"{section}.{key}"
    return None


def handle(message: dict) -> dict:
    from device import profiles
    from device.errors import SpindiffError

    op = message.get("op")
    try:
        if op == "list":
            return {
                "ok": True,
                "result": [
                    {"name": p.name, "description": p.description, "hash": p.hash} for p in profiles.list_profiles()
                ],
            }
        if op == "get":
            p = profiles.get_profile(message["name"])
            return {
                "ok": True,
                "result": {"name": p.name, "description": p.description, "hash": p.hash, "profile": p.to_dict()},
            }
        if op == "resolve":
            base = profiles.get_profile(message["name"])
            overrides = message.get("overrides") or {}
            try:
                p = profiles.with_overrides(base, overrides) if overrides else base
            except SpindiffError as error:
                field = _field_of(profiles, base, overrides) if isinstance(overrides, dict) else None
                return {"ok": False, "error": {"type": type(error).__name__, "message": str(error), "field": field}}
            return {"ok": True, "result": {"name": p.name, "hash": p.hash, "profile": p.to_dict()}}
        return {"ok": False, "error": {"type": "UnknownOp", "message": f"unknown op {op!r}", "field": None}}
    except SpindiffError as error:
        return {"ok": False, "error": {"type": type(error).__name__, "message": str(error), "field": None}}


def main() -> int:
    import device.profiles  # noqa: F401 - load before the ready line

    print(json.dumps({"ok": True, "result": "ready"}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            answer = handle(json.loads(line))
        except Exception as error:  # noqa: BLE001 - the helper must answer every line
            answer = {"ok": False, "error": {"type": type(error).__name__, "message": str(error), "field": None}}
        print(json.dumps(answer, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
