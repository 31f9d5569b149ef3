"""GET /metrics: Prometheus text built from Redis at scrape time, the same from every API replica.

| metric | type | labels |
|---|---|---|
| ``spindiff_jobs`` | gauge | ``state`` (queued, running, succeeded, failed, cancelled) |
| ``spindiff_queue_depth`` | gauge | — (jobs accepted and not started) |
| ``spindiff_broker_queue_length`` | gauge | — (messages waiting in the Celery queue) |
| ``spindiff_workers_alive`` | gauge | — |
| ``spindiff_job_duration_seconds`` | histogram | ``outcome`` (succeeded, failed, cancelled) |
| ``spindiff_images_generated_total`` | counter | ``profile`` |
| ``spindiff_energy_per_image_joules`` | histogram | ``profile`` (emulated chip energy, chip jobs only) |
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

from worker import metrics_store, registry
from worker.store import JobStore


class RedisCollector:
    def __init__(self, store: JobStore, queue: str):
        self.store, self.queue = store, queue

    def collect(self):
        r = self.store.r
        counts = self.store.counts()
        jobs = GaugeMetricFamily("spindiff_jobs", "Jobs kept in the store, by state", labels=["state"])
        for state, n in counts.items():
            jobs.add_metric([state], n)
        yield jobs
        yield GaugeMetricFamily("spindiff_queue_depth", "Jobs accepted and not started", value=counts["queued"])
        yield GaugeMetricFamily(
            "spindiff_broker_queue_length", "Messages waiting in the Celery queue", value=r.llen(self.queue)
        )
        yield GaugeMetricFamily("spindiff_workers_alive", "Workers with a live heartbeat", value=len(registry.alive(r)))
        snap = metrics_store.snapshot(r)
        duration = HistogramMetricFamily(
            "spindiff_job_duration_seconds", "Run time of finished jobs", labels=["outcome"]
        )
        for outcome, h in sorted(snap["duration"].items()):
            duration.add_metric([outcome], h["buckets"], h["sum"])
        yield duration
        images = CounterMetricFamily("spindiff_images_generated", "Images generated", labels=["profile"])
        for profile, n in sorted(snap["images"].items()):
            images.add_metric([profile], n)
        yield images
        energy = HistogramMetricFamily(
            "spindiff_energy_per_image_joules", "Emulated chip energy per image", labels=["profile"]
        )
        for profile, h in sorted(snap["energy"].items()):
            energy.add_metric([profile], h["buckets"], h["sum"])
        yield energy


def render(store: JobStore, queue: str) -> bytes:
    registry_ = CollectorRegistry(auto_describe=False)
    registry_.register(RedisCollector(store, queue))
    return generate_latest(registry_)
