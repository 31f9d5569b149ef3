"""The API's side of the profile catalog helper (`worker.catalog`), started as a child process.

The helper imports the emulator (numba); this process talks to it over pipes, one JSON line each
way, so the API itself never imports torch or numba. It is started in the background when the app
starts, restarted if it dies, and its answers to ``list``/``get`` are cached (profiles are fixed
for the life of a deployment).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading

log = logging.getLogger("spindiff.api")


class CatalogUnavailable(RuntimeError):
    """The helper process could not be started or did not answer in time."""


class CatalogError(ValueError):
    """The helper rejected a request: ``message`` and the offending ``field`` (``rng.dac_bits``) or None."""

    def __init__(self, message: str, field: str | None):
        super().__init__(message)
        self.field = field


class ProfileCatalog:
    def __init__(self, timeout_s: float = 30.0):
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._cache: dict = {}

    # --- process ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the helper (idempotent) and wait for its ready line."""
        with self._lock:
            self._ensure()

    def _ensure(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "worker.catalog"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._read(self._proc)
        return self._proc

    def _read(self, proc: subprocess.Popen) -> dict:
        answer: list = []
        reader = threading.Thread(target=lambda: answer.append(proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.timeout_s)
        if not answer or not answer[0]:
            proc.kill()
            self._proc = None
            raise CatalogUnavailable("the profile catalog helper (python -m worker.catalog) did not answer")
        return json.loads(answer[0])

    @property
    def ready(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def close(self) -> None:
        with self._lock:
            if self._proc is not None:
                self._proc.stdin.close()
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                self._proc = None

    def _ask(self, message: dict):
        with self._lock:
            proc = self._ensure()
            try:
                proc.stdin.write(json.dumps(message) + "\n")
                proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._proc = None
                proc = self._ensure()
                proc.stdin.write(json.dumps(message) + "\n")
                proc.stdin.flush()
            answer = self._read(proc)
        if not answer.get("ok"):
            error = answer.get("error", {})
            raise CatalogError(error.get("message", "profile error"), error.get("field"))
        return answer["result"]

    # --- queries -------------------------------------------------------------------------------------
    def list(self) -> list[dict]:
        if "list" not in self._cache:
            self._cache["list"] = self._ask({"op": "list"})
        return self._cache["list"]

    def get(self, name: str) -> dict:
        key = ("get", name)
        if key not in self._cache:
            self._cache[key] = self._ask({"op": "get", "name": name})
        return self._cache[key]

    def resolve(self, name: str, overrides: dict | None) -> dict:
        """The profile ``name`` with ``overrides`` applied and validated: {name, hash, profile}."""
        if not overrides:
            return self.get(name)
        return self._ask({"op": "resolve", "name": name, "overrides": overrides})
