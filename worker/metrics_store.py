"""Service metrics that outlive processes: histograms and counters kept in Redis hashes.

Workers add one observation per finished job; the API's /metrics reads them (`app.api.metrics`),
so the numbers are the same whichever API replica is scraped and survive worker restarts. Each
histogram is one hash per label set: a field per bucket (non-cumulative counts), ``sum`` and
``count``; the reader makes the buckets cumulative as Prometheus expects.
"""

from __future__ import annotations

import math
import os
import time

import redis

KEY = "spindiff:metrics:"
DURATION_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200)
ENERGY_BUCKETS = (1e-9, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: the sorted set of the latest job ends (score: the time), from which the queue's drain rate is measured
FINISHED = f"{KEY}finished"
FINISHED_KEPT = 500
#: what the dashboard's duration estimate reads (`worker.estimates`), from succeeded jobs: one hash per
#: profile and emulation mode, ``rate:{profile}:{mode}``, and one per mode, ``rate:*:{mode}`` (image_steps,
#: sampling_s, twin_image_steps, twin_s, quality_jobs, quality_s, other_s, jobs); one per mode of the chip
#: set-up, ``setup:{mode}`` (programmed, programmed_s, loaded, loaded_s); the chips built or loaded (a sorted
#: set of ``model:profile_hash:chip_seed``, score the last use, the newest CHIPS_KEPT kept)
RATE = f"{KEY}rate:"
SETUP = f"{KEY}setup:"
CHIPS = f"{KEY}chips"
CHIPS_KEPT = 2000


def _bucket(value: float, buckets: tuple) -> str:
    for le in buckets:
        if value <= le:
            return repr(float(le))
    return "+Inf"


def _observe(pipe, key: str, value: float, buckets: tuple) -> None:
    pipe.hincrby(key, _bucket(value, buckets), 1)
    pipe.hincrbyfloat(key, "sum", float(value))
    pipe.hincrby(key, "count", 1)


def record_job(
    client: redis.Redis, outcome: str, duration_s: float, images: int, profile: str, energy_per_image_j: float | None
) -> None:
    """One finished job: its run time, the images it made, and the chip energy per image (chip jobs)."""
    pipe = client.pipeline(transaction=False)
    now = time.time()
    pipe.zadd(FINISHED, {f"{now!r}-{os.getpid()}-{os.urandom(4).hex()}": now})
    pipe.zremrangebyrank(FINISHED, 0, -FINISHED_KEPT - 1)
    _observe(pipe, f"{KEY}duration:{outcome}", duration_s, DURATION_BUCKETS)
    if images:
        pipe.hincrby(f"{KEY}images", profile, int(images))
    if energy_per_image_j is not None and math.isfinite(energy_per_image_j):
        _observe(pipe, f"{KEY}energy:{profile}", energy_per_image_j, ENERGY_BUCKETS)
    pipe.execute()


def _histogram(raw: dict, buckets: tuple) -> dict:
    values = {k.decode(): v.decode() for k, v in raw.items()}
    cumulative, running = [], 0
    for le in [repr(float(b)) for b in buckets] + ["+Inf"]:
        running += int(values.get(le, 0))
        cumulative.append((le, running))
    return {"buckets": cumulative, "sum": float(values.get("sum", 0.0)), "count": int(values.get("count", 0))}


def snapshot(client: redis.Redis) -> dict:
    """{'duration': {outcome: hist}, 'images': {profile: n}, 'energy': {profile: hist}}."""
    out = {"duration": {}, "images": {}, "energy": {}}
    for key in client.scan_iter(match=KEY + "*", count=100):
        name = key.decode()[len(KEY) :]
        kind, _, label = name.partition(":")
        if kind == "duration":
            out["duration"][label] = _histogram(client.hgetall(key), DURATION_BUCKETS)
        elif kind == "energy":
            out["energy"][label] = _histogram(client.hgetall(key), ENERGY_BUCKETS)
        elif kind == "images":
            out["images"] = {k.decode(): int(v) for k, v in client.hgetall(key).items()}
    return out


def drain_rate(client: redis.Redis, window_s: float = 600.0, now: float | None = None) -> float | None:
    """Jobs finished per second over the last ``window_s`` seconds, by all workers together; None with
    fewer than two job ends in the window (nothing to measure a rate from).

    The rate is (k − 1) / (t_last − t_first) over the k ends in the window: the pace at which the queue
    has been draining, whatever the number of workers or the size of the jobs.
    """
    now = time.time() if now is None else now
    ends = [score for _, score in client.zrangebyscore(FINISHED, now - window_s, now, withscores=True)]
    if len(ends) < 2 or ends[-1] <= ends[0]:
        return None
    return (len(ends) - 1) / (ends[-1] - ends[0])


def record_run(client: redis.Redis, profile: str, mode: str, timings: dict, run: dict) -> None:
    """The speed of one succeeded job, for `worker.estimates`.

    ``timings`` is the report's (``sampling_s``, ``twin_sampling_s``, ``programming_s``, ``chip_load_s``,
    ``quality_s``); ``run`` says what was run: ``image_steps`` (images × steps), ``duration_s`` (the
    whole job on the worker), ``quality`` (whether KID/FID was scored), and for a chip ``chip`` (its
    ``model:profile_hash:chip_seed``) and ``chip_source`` (``memory``, ``disk`` or ``programmed``).
    Whatever the job spent outside those (model loading, PNGs) is its ``other_s``.
    """
    t = {k: float(v or 0.0) for k, v in timings.items() if isinstance(v, (int, float))}
    setup = t.get("programming_s", 0.0) + t.get("chip_load_s", 0.0)
    spent = setup + t.get("sampling_s", 0.0) + t.get("twin_sampling_s", 0.0) + t.get("quality_s", 0.0)
    pipe = client.pipeline(transaction=False)
    for key in (f"{RATE}{profile}:{mode}", f"{RATE}*:{mode}"):
        pipe.hincrbyfloat(key, "image_steps", run["image_steps"])
        pipe.hincrbyfloat(key, "sampling_s", t.get("sampling_s", 0.0))
        if t.get("twin_sampling_s"):
            pipe.hincrbyfloat(key, "twin_image_steps", run["image_steps"])
            pipe.hincrbyfloat(key, "twin_s", t["twin_sampling_s"])
        if run.get("quality"):
            pipe.hincrby(key, "quality_jobs", 1)
            pipe.hincrbyfloat(key, "quality_s", t.get("quality_s", 0.0))
        pipe.hincrbyfloat(key, "other_s", max(0.0, run["duration_s"] - spent))
        pipe.hincrby(key, "jobs", 1)
    source = run.get("chip_source")
    if source:
        built = source == "programmed"
        pipe.hincrby(f"{SETUP}{mode}", "programmed" if built else "loaded", 1)
        pipe.hincrbyfloat(f"{SETUP}{mode}", "programmed_s" if built else "loaded_s", setup)
        pipe.zadd(CHIPS, {run["chip"]: time.time()})
        pipe.zremrangebyrank(CHIPS, 0, -CHIPS_KEPT - 1)
    pipe.execute()


def run_rates(client: redis.Redis, profile: str, mode: str) -> tuple[dict, dict, bool]:
    """(the sums of `record_run` for ``profile`` in ``mode`` — or, when that profile has none, for the
    mode — , the mode's chip set-up sums, whether the sums are the profile's own); empty dicts before
    anything was measured."""

    def read(key: str) -> dict:
        return {k.decode(): float(v) for k, v in client.hgetall(key).items()}

    own = read(f"{RATE}{profile}:{mode}")
    rates = own if own.get("jobs") else read(f"{RATE}*:{mode}")
    return rates, read(f"{SETUP}{mode}"), bool(own.get("jobs"))


def chip_seen(client: redis.Redis, chip: str) -> bool:
    """Whether a worker has built or loaded the chip ``model:profile_hash:chip_seed`` (kept on disk since)."""
    return client.zscore(CHIPS, chip) is not None
