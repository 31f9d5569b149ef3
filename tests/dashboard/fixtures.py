"""The dashboard's job records (tests/dashboard/data/current/), made by the code that makes real jobs.

    python -m tests.dashboard.fixtures --write    rewrite them from what the code produces now
    python -m tests.dashboard.fixtures            check them (exit status 1, naming what changed)

Each record is what ``GET /v1/generations/{id}`` returns for a job run end to end in this process:
the API app (`app.api.main.create_app`, over Starlette's TestClient) validates the request and
stores it in an embedded Redis, `worker.runner.run_job` runs it (`diffusion.generation.generate`,
the quality block, the store's transitions) on a tiny model (the U-Net of ``TINY_CONFIG`` in
tests/diffusion/conftest.py, exported like a shipped model), and the API reads it back. `REQUESTS`
lists the three jobs: a software job, a vcma-default chip job, and a chip job cancelled after its
third step (the store's own cancel, requested when step 3 is recorded).

tests/dashboard/test_fixtures.py regenerates them and fails when the committed records' structure
(keys, value types, nesting) differs from what the code writes now, so that a telemetry change
cannot leave the dashboard's tests reading a format no job has any more. Values (ids, times, seeds
of the chip's variation, energies) are not compared: they differ from run to run and machine to
machine. The records in tests/dashboard/data/*.json are another thing: jobs stored by the worker of
telemetry schema 1, frozen on purpose (old records must keep reading and rendering).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "current"
NAMES = ("software", "vcma", "cancelled")
REFRESH = "python -m tests.dashboard.fixtures --write"
#: the cancelled job is cancelled when its progress reaches this step
CANCEL_AT_STEP = 3
REQUESTS = {
    "software": {"num_images": 2, "steps": 3, "sampler": "ddpm", "seed": 1, "hardware": "software"},
    "vcma": {"num_images": 2, "steps": 3, "sampler": "ddpm", "seed": 1, "hardware": "vcma-default", "preview": True},
    "cancelled": {"num_images": 2, "steps": 50, "sampler": "ddpm", "seed": 1, "hardware": "vcma-default"},
}


def path(name: str) -> Path:
    return DATA / f"{name}_job.json"


def load(name: str) -> dict:
    """The committed record ``name`` (one of `NAMES`)."""
    return json.loads(path(name).read_text())


@contextlib.contextmanager
def _environment(**values: str):
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def tiny_model(directory: Path) -> Path:
    """A model directory as `spindiff export-model` writes it: the ``TINY_CONFIG`` U-Net of
    tests/diffusion/conftest.py at its seeded initialisation (untrained: the records' structure does not
    depend on what the network learnt, and training would cost the test seconds)."""
    import torch

    from diffusion.model import checkpoints
    from diffusion.model.unet import UNet
    from tests.diffusion.conftest import TINY_CONFIG

    run = directory / "run"
    run.mkdir(parents=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_CONFIG.seed)
        weights = UNet(TINY_CONFIG.unet).state_dict()
    checkpoints.write_config(run, TINY_CONFIG.to_dict())
    checkpoints.save_checkpoint(run, weights, weights, {"step": 0, "wall_seconds": 0.0})
    return checkpoints.export_model(run, directory / "model")


def make_records(workdir: Path) -> dict[str, dict]:
    """{name: the job record as the API returns it} for each job of `REQUESTS` (module docstring)."""
    from fastapi.testclient import TestClient

    from app.api.main import create_app
    from app.embedded_redis import EmbeddedRedis
    from diffusion.model.checkpoints import load_bundle
    from diffusion.shipped import REFERENCE_STATS
    from worker.runner import run_job
    from worker.runtime import ChipCache, Runtime
    from worker.settings import Settings
    from worker.store import JobStore

    class CancelAtStep(JobStore):
        """The job store, asked to cancel a job (as ``POST …/cancel`` does) once it records step `CANCEL_AT_STEP`."""

        def progress(self, job_id, attempt, progress, event):
            outcome = super().progress(job_id, attempt, progress, event)
            if progress["step"] == CANCEL_AT_STEP:
                self.cancel(job_id)
            return outcome

    workdir = Path(workdir)
    model_dir = tiny_model(workdir)
    (workdir / "redis").mkdir()
    # a chip programmed now, not one another run left on disk: the record says "programmed"
    with _environment(SPINDIFF_CHIP_DIR="off"), EmbeddedRedis(workdir / "redis", appendonly=False) as server:
        settings = Settings(
            redis_url=server.url, model_dir=model_dir, reference_stats=REFERENCE_STATS, api_keys=None, queue_cap=0
        )
        app = create_app(settings)
        chips = ChipCache(settings.chip_cache_size)
        bundles = {"default": load_bundle(model_dir)}
        records = {}
        with TestClient(app) as client:
            for name, body in REQUESTS.items():
                response = client.post("/v1/generations", json=body)
                if response.status_code != 202:
                    raise RuntimeError(f"{name}: POST /v1/generations answered {response.status_code}: {response.text}")
                job_id = response.json()["id"]
                store = (CancelAtStep if name == "cancelled" else JobStore)(app.state.store.r, settings.retention_s)
                outcome = run_job(job_id, Runtime(settings, store, bundles, chips))
                expected = "cancelled" if name == "cancelled" else "succeeded"
                records[name] = client.get(f"/v1/generations/{job_id}").json()
                if outcome != expected:
                    error = records[name]["error"]
                    raise RuntimeError(f"{name}: the job ended {outcome!r}, not {expected!r}: {error}")
        app.state.celery.close()
    return records


# --- structure ---------------------------------------------------------------------------------------
def shape(value):
    """The structure of a JSON value: dicts keep their keys, lists the set of their items' shapes, and
    every other value becomes the name of its JSON type (``"int"``, ``"float"``, ``"str"``, ``"bool"``, ``"null"``)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        shapes = []
        for item in value:
            item_shape = shape(item)
            if item_shape not in shapes:
                shapes.append(item_shape)
        return shapes
    if value is None:
        return "null"
    return type(value).__name__


def differences(committed, current, where: str = "") -> list[str]:
    """What differs between two shapes, one line per place: ``telemetry.energy.foo: only in the code's output``."""
    here = where or "(the record)"
    if isinstance(committed, dict) and isinstance(current, dict):
        out = []
        for key in committed.keys() | current.keys():
            at = f"{where}.{key}" if where else key
            if key not in current:
                out.append(f"{at}: only in the committed fixture")
            elif key not in committed:
                out.append(f"{at}: only in the code's output")
            else:
                out.extend(differences(committed[key], current[key], at))
        return sorted(out)
    if isinstance(committed, list) and isinstance(current, list):
        if committed == current:
            return []
        if len(committed) == len(current) == 1:
            return differences(committed[0], current[0], f"{where}[]")
        return [f"{here}[]: items {_describe(committed)} in the committed fixture, {_describe(current)} now"]
    if committed != current:
        return [f"{here}: {_describe(committed)} in the committed fixture, {_describe(current)} now"]
    return []


def _describe(value) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "[" + ", ".join(_describe(item) for item in value) + "]" if value else "none"
    return value


def stale(records: dict[str, dict]) -> dict[str, list[str]]:
    """{name: differences} for each committed fixture whose structure is not that of ``records[name]`` (or missing)."""
    out = {}
    for name in NAMES:
        if not path(name).is_file():
            out[name] = [f"{path(name)} is missing"]
            continue
        found = differences(shape(load(name)), shape(records[name]))
        if found:
            out[name] = found
    return out


def write(records: dict[str, dict]) -> list[Path]:
    DATA.mkdir(parents=True, exist_ok=True)
    written = []
    for name in NAMES:
        path(name).write_text(json.dumps(records[name], indent=2, ensure_ascii=False) + "\n")
        written.append(path(name))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.dashboard.fixtures", description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {DATA} from what the code produces now")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="spindiff-dashboard-fixtures-") as workdir:
        records = make_records(Path(workdir))
    if args.write:
        for written in write(records):
            print(f"wrote {written}")
        return 0
    found = stale(records)
    for name, lines in found.items():
        print(f"{path(name)}:", *lines, sep="\n  ")
    if found:
        print(f"refresh with `{REFRESH}`")
    else:
        print(f"{DATA}: the committed records have the structure of the code's output")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
