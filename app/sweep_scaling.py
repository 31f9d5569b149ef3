"""One sweep on `spindiff serve` with 1 and then with 2 Celery worker processes: the speed-up and that the results agree.

    python -m app.sweep_scaling [--workers 1,2] [--num-images 32] [--out sweep_scaling.json]

Each run starts a fresh ``spindiff serve --concurrency W`` (embedded Redis, no API keys, loopback)
with an empty chip cache of its own, so that every point programs its chip cold in every run, posts
`BODY` to ``/v1/sweeps`` and polls ``GET /v1/sweeps/{id}`` until the sweep ends. It prints the wall
time from submit to the end per run, the speed-up against the first run, and whether every point's
results (FID, KID and its spread, energy per image by component, profile hash) are identical across
runs. A measurement, not a test: run it on an otherwise idle machine (docs/serving.md, "Fan-out").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from app.embedded_redis import free_port

REPO = Path(__file__).resolve().parents[1]
BODY = {
    "profile": "vcma-default",
    "emulation": "statistical",
    "axes": {"crossbar.adc_bits": [6, 8], "crossbar.read_time": [1e-9, 4e-9]},
    "num_images": 32,
    "steps": 10,
    "sampler": "ddpm",
    "seed": 0,
}
FINISHED = ("succeeded", "failed", "cancelled", "expired")
COMPARED = ("fid", "kid_mean", "kid_std", "energy_per_image_j", "energy_per_image_by_component_j")


def run(workers: int, body: dict, log_dir: Path, ready_timeout_s: float = 300.0) -> dict:
    """One sweep on a fresh ``serve`` with ``workers`` worker processes: {workers, wall_s, status, points}."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPINDIFF_")}
    env.update(
        OMP_NUM_THREADS="1",
        NUMBA_NUM_THREADS="1",
        SPINDIFF_TORCH_THREADS="1",
        SPINDIFF_CHIP_DIR=tempfile.mkdtemp(prefix="spindiff-chips-"),
        SPINDIFF_DATA_DIR=tempfile.mkdtemp(prefix="spindiff-serve-"),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--concurrency", str(workers)]
    with open(log_dir / f"serve-{workers}-workers.log", "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            deadline = time.monotonic() + ready_timeout_s
            while not _ready(base):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"spindiff serve did not become ready; see {log.name}")
                time.sleep(1)
            started = time.perf_counter()
            answer = httpx.post(f"{base}/v1/sweeps", json=body, timeout=60)
            answer.raise_for_status()
            sweep_id = answer.json()["id"]
            while (view := httpx.get(f"{base}/v1/sweeps/{sweep_id}", timeout=60).json())["status"] not in FINISHED:
                time.sleep(2)
            wall_s = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(120)
    return {"workers": workers, "wall_s": round(wall_s, 1), "status": view["status"], "points": view["points"]}


def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def essence(point: dict) -> dict:
    """The parts of a point's results that must not depend on how many workers ran it."""
    results = point.get("results") or {}
    return {"profile_hash": point.get("profile_hash"), **{k: results.get(k) for k in COMPARED}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="comma-separated worker process counts, one run each")
    parser.add_argument("--num-images", type=int, default=BODY["num_images"], help="images per point")
    parser.add_argument("--out", default="sweep_scaling.json", help="every run's sweep view as JSON")
    args = parser.parse_args(argv)
    counts = [int(w) for w in args.workers.split(",")]
    body = {**BODY, "num_images": args.num_images}
    out = Path(args.out)
    runs = [run(w, body, out.parent) for w in counts]
    out.write_text(json.dumps({"body": body, "runs": runs}, indent=1) + "\n")
    first = runs[0]
    for r in runs:
        same = all(essence(a) == essence(b) for a, b in zip(first["points"], r["points"], strict=True))
        print(
            f"{r['workers']} worker process(es): {r['wall_s']} s, {r['status']}, speed-up "
            f"{first['wall_s'] / r['wall_s']:.2f}x, results identical to the first run: {same}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
