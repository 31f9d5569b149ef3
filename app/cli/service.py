"""``spindiff serve``, ``spindiff api`` and ``spindiff worker``: the generation service's commands.

Nothing here imports torch or numba at module level; the worker command hands over to Celery, whose
pool processes load them after the fork (docs/serving.md, "Fork safety").
"""

from __future__ import annotations

import sys


def cmd_serve(args) -> int:
    from app.serve import serve
    from worker.settings import get_settings

    warning = open_without_keys_warning(args.host, get_settings().api_key_list)
    if warning:
        print(warning, file=sys.stderr, flush=True)

    return serve(args.host, args.port, concurrency=args.concurrency, grace_s=args.grace)


def add_serve(sub) -> None:
    p = sub.add_parser(
        "serve", help="the generation service in one command: Redis (unless REDIS_URL), a worker, the API"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--concurrency", type=int, help="worker processes (default SPINDIFF_WORKER_CONCURRENCY or the cores)"
    )
    p.add_argument(
        "--grace",
        type=float,
        default=10.0,
        help="seconds a running job may finish on Ctrl-C before it is checkpointed and requeued (resumed on the next start)",
    )
    p.set_defaults(func=cmd_serve)


def open_without_keys_warning(host: str, keys: list[str]) -> str | None:
    """The warning to print when the API listens beyond this machine with no API keys, else None."""
    if keys or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (
        f"warning: the API listens on {host} with no API keys: anyone who can reach it can queue jobs and read "
        "every result. Set SPINDIFF_API_KEYS (and SPINDIFF_ADMIN_API_KEYS), or listen on 127.0.0.1."
    )


def cmd_api(args) -> int:
    import uvicorn

    from app.api.connections import uvicorn_options
    from worker.settings import get_settings

    warning = open_without_keys_warning(args.host, get_settings().api_key_list)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    uvicorn.run(
        "app.api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        log_level=get_settings().log_level,
        **uvicorn_options(get_settings()),
    )
    return 0


def add_api(sub) -> None:
    p = sub.add_parser("api", help="the HTTP API alone (needs Redis at REDIS_URL and `spindiff worker`s)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_api)


def cmd_worker(args) -> int:
    import os

    if args.concurrency:  # the pool processes read their thread count from the same setting
        os.environ["SPINDIFF_WORKER_CONCURRENCY"] = str(args.concurrency)
    from worker.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    from worker.celery_app import app, quiet_root_warning

    root = quiet_root_warning()
    if root:
        print(f"[spindiff worker] {root}", file=sys.stderr, flush=True)
    argv = [
        "worker",
        "--loglevel",
        settings.log_level.upper(),
        "--pool",
        "prefork",
        "--concurrency",
        str(settings.concurrency),
        "--queues",
        settings.queue,
        "--hostname",
        args.hostname,
        "--without-mingle",
        "--without-gossip",
    ]
    print(
        f"[spindiff worker] {settings.concurrency} process(es) x {settings.threads_per_process} thread(s), queue {settings.queue!r}",
        file=sys.stderr,
        flush=True,
    )
    app.worker_main(argv)
    return 0


def add_worker(sub) -> None:
    p = sub.add_parser("worker", help="a Celery worker for generation jobs (Redis at REDIS_URL)")
    p.add_argument("--concurrency", type=int, help="pool processes (default SPINDIFF_WORKER_CONCURRENCY or the cores)")
    p.add_argument("--hostname", default="spindiff@%h", help="Celery node name (%%h: host name)")
    p.set_defaults(func=cmd_worker)
