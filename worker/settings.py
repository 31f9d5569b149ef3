"""The one `Settings` of the generation service, read from the environment (docs/architecture.md, house rule 7).

The API, the workers, the profile catalog and `spindiff serve` all read this class; Celery's
configuration is derived from it (`worker.celery_app`). Every field is an environment variable:
``REDIS_URL`` as is, every other one with the ``SPINDIFF_`` prefix (``retention_s`` is
``SPINDIFF_RETENTION_S``). The README's configuration table lists them all, and a test keeps the
two in step. Secrets (``SPINDIFF_API_KEYS``) have no default.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from diffusion.shipped import MODEL_DIR, REFERENCE_STATS  # plain paths: no torch/numba behind them

DEFAULT_MODEL_DIR = MODEL_DIR
DEFAULT_REFERENCE = REFERENCE_STATS


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "spindiff"


class Settings(BaseSettings):
    """Service configuration. Times are seconds, sizes as named; see the README table."""

    model_config = SettingsConfigDict(env_prefix="SPINDIFF_", extra="ignore", frozen=True)

    redis_url: str | None = Field(
        None,
        validation_alias=AliasChoices("REDIS_URL", "redis_url"),
        description="Redis for the queue and the job store; unset: `spindiff serve` starts its own, "
        "`spindiff api`/`worker` use redis://127.0.0.1:6379/0",
    )
    data_dir: Path = Field(
        default_factory=_default_data_dir, description="where `spindiff serve` keeps its Redis (AOF)"
    )
    model_dir: Path = Field(DEFAULT_MODEL_DIR, description="the shipped model served as model id 'default'")
    reference_stats: Path = Field(DEFAULT_REFERENCE, description="FID/KID reference statistics (.npz)")
    retention_s: int = Field(7 * 24 * 3600, ge=60, description="how long finished jobs, images and events are kept")
    queue_cap: int = Field(100, ge=0, description="queued jobs admitted before 429 (0: no cap)")
    max_attempts: int = Field(3, ge=1, le=20, description="deliveries of one job before it fails as worker_lost")
    time_limit_s: int = Field(7200, ge=5, description="hard time limit of one job")
    soft_time_limit_s: int | None = Field(
        None, ge=1, description="soft limit (default: hard − 30 s, or 0.8 × hard when short)"
    )
    visibility_timeout_s: int | None = Field(
        None, ge=2, description="Redis redelivers unacked jobs after this (default 2 × hard limit)"
    )
    restore_interval_s: int = Field(30, ge=1, description="how often workers look for unacked jobs to redeliver")
    queue: str = Field("spindiff", min_length=1, description="Celery queue name")
    worker_concurrency: int | None = Field(
        None, ge=1, description="worker processes per `spindiff worker` (default: CPU cores)"
    )
    torch_threads: int | None = Field(
        None, ge=1, description="torch/numba threads per worker process (default: cores / concurrency)"
    )
    max_tasks_per_child: int = Field(200, ge=1, description="a worker process is replaced after this many jobs")
    max_memory_per_child_mb: int = Field(
        6144, ge=256, description="a worker process is replaced past this resident size"
    )
    chip_cache_size: int = Field(4, ge=1, description="programmed chips kept per worker process (LRU)")
    # read by diffusion/ from the environment (it knows nothing of this class); declared here so the
    # service validates and documents them with the rest
    chip_dir: str = Field(
        "",
        description="programmed chips cached on disk (diffusion/chip/cache.py); empty: ~/.cache/spindiff/chips, 'off': none",
    )
    chip_cache_mb: float = Field(
        4096, ge=0, description="size bound of SPINDIFF_CHIP_DIR, MB (least recently used chips deleted)"
    )
    device: str = Field(
        "auto", pattern=r"^(?i:auto|cpu|cuda(:\d+)?)$", description="torch device of the chip emulation"
    )
    progress_interval_s: float = Field(0.5, ge=0.0, description="least time between two progress events of a job")
    heartbeat_interval_s: float = Field(5.0, gt=0.0, description="worker liveness beat (alive for 3 beats)")
    lost_after_s: float = Field(
        60.0,
        gt=0.0,
        description="a running job whose worker no longer beats is requeued after this long without progress",
    )
    checkpoint_interval_s: float = Field(
        10.0, ge=0.0, description="least time between two stored sampler checkpoints of a running job (0: every step)"
    )
    stop_grace_s: float = Field(
        30.0,
        ge=0.0,
        description="a stopping worker lets a running job go on this long, then checkpoints and requeues it",
    )
    api_keys: SecretStr | None = Field(
        None, description="comma-separated API keys; unset: no authentication. Each key sees only its own jobs"
    )
    admin_api_keys: SecretStr | None = Field(
        None, description="comma-separated admin API keys: valid keys that see and cancel every key's jobs"
    )
    rate_limit_per_minute: int = Field(120, ge=0, description="requests per minute per API key (0: unlimited)")
    max_body_bytes: int = Field(1 << 20, ge=1024, description="largest request body the API reads (413 above)")
    body_timeout_s: float = Field(30.0, gt=0.0, description="408 when a request body stalls this long between chunks")
    header_timeout_s: float = Field(
        10.0, gt=0.0, description="408 and close when a request's line and headers take longer than this to arrive"
    )
    keep_alive_s: float = Field(
        5.0, gt=0.0, description="an idle keep-alive connection of the API is closed after this"
    )
    max_connections: int = Field(
        1000, ge=1, description="open connections the API serves (event streams included); past it 503"
    )
    max_header_bytes: int = Field(
        16384, ge=1024, description="largest request line and headers the API reads (400 above)"
    )
    log_level: str = Field("info", description="log level of the API and the workers")

    @model_validator(mode="after")
    def _check_limits(self) -> Settings:
        soft, hard = self.soft_limit, self.time_limit_s
        if not 0 < soft < hard:
            raise ValueError(f"SPINDIFF_SOFT_TIME_LIMIT_S must lie in (0, SPINDIFF_TIME_LIMIT_S={hard}), got {soft}")
        if self.visibility_timeout <= hard:
            raise ValueError(
                f"SPINDIFF_VISIBILITY_TIMEOUT_S ({self.visibility_timeout}) must exceed SPINDIFF_TIME_LIMIT_S ({hard}), "
                "or Redis redelivers jobs that are still running"
            )
        return self

    # --- derived values ---------------------------------------------------------------------------
    @property
    def soft_limit(self) -> int:
        if self.soft_time_limit_s is not None:
            return self.soft_time_limit_s
        hard = self.time_limit_s
        return hard - 30 if hard > 150 else max(1, int(hard * 0.8))

    @property
    def visibility_timeout(self) -> int:
        return self.visibility_timeout_s if self.visibility_timeout_s is not None else 2 * self.time_limit_s

    @property
    def redis(self) -> str:
        return self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def concurrency(self) -> int:
        return self.worker_concurrency or (os.cpu_count() or 1)

    @property
    def threads_per_process(self) -> int:
        """One torch/numba pool per core in total: cores / concurrency, at least 1 (docs/serving.md)."""
        return self.torch_threads or max(1, (os.cpu_count() or 1) // self.concurrency)

    @property
    def api_key_list(self) -> list[str]:
        """Every key the API accepts: the ordinary keys and the admin keys."""
        return _keys(self.api_keys) + self.admin_key_list

    @property
    def admin_key_list(self) -> list[str]:
        return _keys(self.admin_api_keys)


def _keys(secret: SecretStr | None) -> list[str]:
    return [] if secret is None else [key.strip() for key in secret.get_secret_value().split(",") if key.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once; tests start processes with their own environment)."""
    return Settings()
