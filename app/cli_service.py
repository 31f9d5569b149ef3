"""Deprecated alias of `app.cli.service`, kept only while tests/service/test_health_metrics.py imports it by this name.

The CLI is the package app/cli/; delete this file once that test imports ``app.cli.service``.
"""

from app.cli.service import add_api, add_serve, add_worker, cmd_api, cmd_serve, cmd_worker

__all__ = ["add_api", "add_serve", "add_worker", "cmd_api", "cmd_serve", "cmd_worker"]
