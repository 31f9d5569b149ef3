"""How long a generation request will take on this service, before it is submitted (the dashboard's form).

The estimate adds four parts, in seconds:

- **chip set-up**: programming and calibrating the chip (model, profile, chip seed) when no worker has
  built it yet, else loading it from the disk cache or finding it in memory (the measured mean of
  either, per emulation mode);
- **sampling**: images × steps over the measured image-steps per second of the profile in that
  emulation mode (of the mode, when the profile has not run in it yet); a paired job adds its
  software twin at the twin's measured rate;
- **batch KID/FID**: the measured mean of a scored job's quality time, when quality is on (mostly a
  fixed cost at the form's batch sizes: the feature network and the reference statistics);
- **the rest**: the measured mean of what a job spends outside those (loading the model, PNGs).

The rates are sums kept by the workers (`worker.metrics_store.record_run`), so the estimate follows
whatever this machine does, threads and load included. Before anything was measured it falls back to
the figures in docs/emulation.md ("Speed"; DDPM, batch 64, one thread, a quiet 2-core machine):
`FALLBACK_RATES`, `FALLBACK_SETUP_S`, `FALLBACK_QUALITY_S`, `FALLBACK_OTHER_S`. A job's wait
in the queue is not included: the answer counts the jobs ahead instead.
"""

from __future__ import annotations

import redis

from worker import metrics_store

SOFTWARE = "software"
#: image-steps per second before anything was measured: docs/emulation.md's bench (640 image-steps:
#: software 4.19 s, vcma-default statistical 8.55 s, exact 253.8 s; ideal exact 5.98 s)
FALLBACK_RATES = {SOFTWARE: 153.0, "statistical": 75.0, "exact": 2.5}
FALLBACK_PROFILE_RATES = {("ideal", "exact"): 107.0}
#: cold programming + calibration (docs/emulation.md: 15.8 s statistical on the service, 14.1 s exact) and
#: a disk-cache load (1.0–1.4 s), seconds
FALLBACK_SETUP_S = {"program": {"statistical": 15.8, "exact": 14.1}, "load": 1.4}
#: batch KID/FID of one job: 3.2–3.5 s for 16 images on the service (docs/emulation.md)
FALLBACK_QUALITY_S = 3.3
FALLBACK_OTHER_S = 1.0


def _ratio(sums: dict, numerator: str, denominator: str) -> float | None:
    top, bottom = sums.get(numerator, 0.0), sums.get(denominator, 0.0)
    return top / bottom if top > 0 and bottom > 0 else None


def estimate(
    client: redis.Redis,
    *,
    profile: str,
    mode: str,
    chip: str | None,
    num_images: int,
    steps: int,
    paired: bool = False,
    quality: bool = True,
) -> dict:
    """Seconds a request should take once a worker starts it, by part, and what they rest on.

    ``profile`` is the preset's name (``software`` for the baseline), ``mode`` its emulation mode
    (``exact``, ``statistical`` or ``software``), ``chip`` the chip's ``model_sha256:profile_hash:chip_seed``
    (None for software). ``basis`` says where the rates came from: ``profile`` (this profile's own
    jobs in this mode), ``mode`` (other profiles' jobs in this mode) or ``fallback`` (none yet).
    """
    sums, setup, own = metrics_store.run_rates(client, profile, mode)
    jobs = int(sums.get("jobs", 0))
    measured = jobs > 0
    image_steps = num_images * steps
    rate = _ratio(sums, "image_steps", "sampling_s") or FALLBACK_PROFILE_RATES.get(
        (profile, mode), FALLBACK_RATES.get(mode, FALLBACK_RATES["exact"])
    )
    twin_rate = _ratio(sums, "twin_image_steps", "twin_s") or FALLBACK_RATES[SOFTWARE]
    quality_s = _ratio(sums, "quality_s", "quality_jobs") or FALLBACK_QUALITY_S
    other = sums["other_s"] / jobs if measured else FALLBACK_OTHER_S
    if mode == SOFTWARE or chip is None:
        kind, setup_s = None, 0.0
    elif metrics_store.chip_seen(client, chip):
        kind, setup_s = "load", _ratio(setup, "loaded_s", "loaded") or FALLBACK_SETUP_S["load"]
    else:
        kind = "program"
        setup_s = _ratio(setup, "programmed_s", "programmed") or FALLBACK_SETUP_S["program"].get(mode, 15.0)
    parts = {
        "setup_s": setup_s,
        "sampling_s": image_steps / rate,
        "twin_s": image_steps / twin_rate if paired else 0.0,
        "quality_s": quality_s if quality else 0.0,
        "other_s": other,
    }
    return {
        "seconds": sum(parts.values()),
        **parts,
        "setup": kind,
        "image_steps": image_steps,
        "image_steps_per_s": rate,
        "basis": ("profile" if own else "mode") if measured else "fallback",
        "jobs": jobs,
    }
