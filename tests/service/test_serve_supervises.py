"""``spindiff serve`` supervises its children (issue 16: when the worker or redis-server died, the API kept
accepting jobs that stayed queued forever): a killed worker or Redis is restarted with a log line saying why,
/readyz says not-ready meanwhile, and jobs run again after."""

from __future__ import annotations

import os
import re
import signal
import time

import httpx
import pytest

from tests.service.cluster import start_serve
from tests.service.helpers import TINY, wait_until

pytestmark = pytest.mark.drill  # worker killed, Redis killed


def test_a_killed_worker_and_a_killed_redis_are_restarted(tmp_path):
    serve = start_serve(tmp_path, env={"SPINDIFF_LOST_AFTER_S": "5"})  # the job running at the Redis kill: 5 s, not 60

    def a_job_succeeds():
        with httpx.Client(base_url=serve.url, timeout=30) as client:
            job_id = client.post("/v1/generations", json=TINY).json()["id"]
            wait_until(lambda: client.get(f"/v1/generations/{job_id}").json()["status"] == "succeeded", 180)

    try:
        serve.wait_ready()
        a_job_succeeds()
        worker_pid = int(re.search(r"worker pid (\d+)", serve.text()).group(1))
        os.killpg(worker_pid, signal.SIGKILL)
        killed = time.monotonic()
        wait_until(lambda: "worker restarted" in serve.text(), 30, message="no worker restart")
        assert "the worker exited (code -9); restarting it" in serve.text()
        serve.wait_ready()
        a_job_succeeds()
        worker_back_s = time.monotonic() - killed

        # jobs accepted just before Redis dies are not lost: the append-only file (fsync every second)
        # brings back their records and their queue messages; the one running is requeued by its worker
        with httpx.Client(base_url=serve.url, timeout=30) as client:
            accepted = [client.post("/v1/generations", json={**TINY, "steps": 20}).json()["id"] for _ in range(3)]
            time.sleep(1.5)
            redis_pid = int(re.search(r"Redis \S+ pid (\d+)", serve.text()).group(1))
            os.kill(redis_pid, signal.SIGKILL)
            redis_killed = time.monotonic()
            wait_until(lambda: "redis restarted" in serve.text(), 30, message="no Redis restart")
            serve.wait_ready()
            for job_id in accepted:
                wait_until(
                    lambda job_id=job_id: client.get(f"/v1/generations/{job_id}").json()["status"] == "succeeded",
                    150,
                    message=f"job {job_id} accepted before the Redis kill did not finish",
                )
            redis_back_s = time.monotonic() - redis_killed
        a_job_succeeds()
    finally:
        serve.proc.send_signal(signal.SIGTERM)
        code = serve.proc.wait(timeout=120)
    assert code == 0, serve.text()[-3000:]
    print(f"worker killed: serving again (a job done) {worker_back_s:.0f} s later")
    print(f"Redis killed: the {len(accepted)} jobs accepted before it all succeeded {redis_back_s:.0f} s later")
