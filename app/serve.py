"""``spindiff serve``: Redis (unless ``REDIS_URL`` is set), a worker and the API in one command.

The API runs in this process (uvicorn; no torch, no numba), the worker and Redis as child
processes in their own sessions, watched by a `Supervisor` thread that restarts either when it
dies. A Ctrl-C reaches this process alone and the parts stop in order: the API first (no new jobs), then the worker (warm shutdown for ``grace_s``, then a cold
one that puts a running job back on the queue, then SIGKILL), then Redis (AOF flushed).
The worker gets ``grace_s`` as ``SPINDIFF_STOP_GRACE_S``: a job still running then is checkpointed at
its last finished step and requeued without counting an attempt (`worker.checkpoints`), so the
next start resumes it.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time

from app.embedded_redis import EmbeddedRedis


def _say(message: str) -> None:
    print(f"[spindiff serve] {message}", file=sys.stderr, flush=True)


def start_worker(env: dict, concurrency: int | None = None, log_file=None) -> subprocess.Popen:
    """`spindiff worker` as a child in its own process group."""
    command = [sys.executable, "-m", "app.cli", "worker"]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    return subprocess.Popen(
        command, env=env, start_new_session=True, stdout=log_file, stderr=subprocess.STDOUT if log_file else None
    )


#: seconds a stopping worker is given past its grace to checkpoint its running jobs (one sampler step) and exit
CHECKPOINT_MARGIN_S = 30.0


def stop_worker(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Warm shutdown, then cold (running jobs requeued), then SIGKILL of the whole group.

    The warm and cold signals go to the Celery parent alone: it stops taking jobs and lets its pool
    processes finish the running ones (warm), or terminates them and requeues their jobs (cold). A
    signal to the whole group would reach the pool processes too, which die at once, so a running
    job was lost whatever the grace period (issue 16). A worker started with ``SPINDIFF_STOP_GRACE_S``
    equal to ``grace_s`` checkpoints and requeues a job still running at the end of the grace and then
    exits: it has `CHECKPOINT_MARGIN_S` more for that before the cold shutdown."""
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=grace_s)
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            _say(
                f"worker still busy after {grace_s:.0f} s: its running job is checkpointed at its last finished "
                "step and requeued (the attempt is not counted); the next start resumes it"
            )
    for sig, wait_s in ((None, CHECKPOINT_MARGIN_S), (signal.SIGQUIT, 10.0), (signal.SIGKILL, 10.0)):
        if proc.poll() is not None:
            return
        try:
            if sig == signal.SIGKILL:
                os.killpg(proc.pid, sig)
            elif sig is not None:
                os.kill(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            if sig is None:
                _say(
                    f"worker still busy {CHECKPOINT_MARGIN_S:.0f} s past its grace; stopping it cold "
                    "(running jobs go back on the queue)"
                )


class Supervisor(threading.Thread):
    """Restarts the worker or the embedded Redis when one dies, with a backoff, and says why in the log.

    It polls the children every ``interval_s``; a child that exited while the service runs is
    restarted after 1, 2, 4, … s (at most ``max_backoff_s``; the backoff resets once a child has run
    for a minute). /readyz tells the truth meanwhile: it checks Redis and the workers' beats itself.
    """

    def __init__(
        self, start_worker_fn, worker, redis_server=None, interval_s: float = 1.0, max_backoff_s: float = 30.0
    ):
        super().__init__(name="spindiff-supervisor", daemon=True)
        self.start_worker_fn, self.worker, self.redis_server = start_worker_fn, worker, redis_server
        self.interval_s, self.max_backoff_s = interval_s, max_backoff_s
        self.stopping = threading.Event()
        self.restarts = {"worker": 0, "redis": 0}
        self._backoff = {"worker": 1.0, "redis": 1.0}
        self._since = {"worker": time.monotonic(), "redis": time.monotonic()}

    def run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            if self.redis_server is not None and self.redis_server.proc.poll() is not None:
                self._restart("redis", self.redis_server.proc.returncode, self.redis_server.start)
            if self.worker.poll() is not None:
                self._restart("worker", self.worker.returncode, self._new_worker)

    def _new_worker(self) -> None:
        self.worker = self.start_worker_fn()

    def _restart(self, name: str, code, start) -> None:
        if time.monotonic() - self._since[name] > 60:
            self._backoff[name] = 1.0
        wait = self._backoff[name]
        _say(f"the {name} exited (code {code}); restarting it in {wait:.0f} s")
        if self.stopping.wait(wait):
            return
        try:
            start()
        except Exception as error:  # noqa: BLE001 - try again after a longer wait
            _say(f"could not restart the {name}: {error}")
        else:
            self.restarts[name] += 1
            pid = self.worker.pid if name == "worker" else self.redis_server.proc.pid
            _say(f"{name} restarted (pid {pid}; restart {self.restarts[name]})")
        self._since[name] = time.monotonic()
        self._backoff[name] = min(self.max_backoff_s, 2 * wait)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)


def _exit_on_signal(_signum, _frame) -> None:
    raise SystemExit(0)  # a requested stop: unwind through `finally`, exit status 0


def serve(host: str, port: int, concurrency: int | None = None, grace_s: float = 10.0) -> int:
    import uvicorn

    from app.api.connections import uvicorn_options
    from app.api.main import create_app
    from worker.settings import Settings, get_settings

    settings = get_settings()
    env = dict(os.environ, SPINDIFF_STOP_GRACE_S=str(grace_s))  # the worker checkpoints what still runs then
    redis_server = None
    if not settings.redis_url:
        # a fresh password each start: only this process and the children it hands the URL to get in
        redis_server = EmbeddedRedis(settings.data_dir / "redis", password=secrets.token_urlsafe(24)).start()
        env["REDIS_URL"] = redis_server.url
        settings = Settings(redis_url=redis_server.url)
        _say(
            f"Redis {redis_server.display_url} pid {redis_server.proc.pid} "
            f"(password-protected; append-only file in {redis_server.data_dir})"
        )
    else:
        _say("using the Redis at REDIS_URL")
    supervisor = Supervisor(lambda: start_worker(env, concurrency), start_worker(env, concurrency), redis_server)
    worker = supervisor.worker
    # uvicorn handles SIGTERM itself and, once shut down, re-raises it with the handler that was
    # there before; Python's default would end the process before `finally` stops the worker and
    # Redis, so make it an exit that unwinds (Ctrl-C already does: KeyboardInterrupt).
    signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        _say(f"worker pid {worker.pid}; the first job waits until it has loaded the model")
        _say(
            f"spindiff is at http://{host}:{port}/  (API docs: http://{host}:{port}/docs, readiness: /readyz); Ctrl-C stops it"
        )
        supervisor.start()
        started = time.monotonic()
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level=settings.log_level, **uvicorn_options(settings)
        )
        if time.monotonic() - started < 2:
            _say(f"the API stopped at once (is port {port} free?)")
    finally:
        supervisor.stop()  # nothing is restarted from here on
        _say("stopping the worker")
        stop_worker(supervisor.worker, grace_s)
        if redis_server is not None:
            _say("stopping Redis")
            redis_server.stop()
        _say("stopped")
    return 0
