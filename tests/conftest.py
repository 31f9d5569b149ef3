"""Shared pytest hooks: every test's report is kept on its item (``item.rep_setup/call/teardown``), so
fixtures can tell in teardown whether the test failed; a failed test that ran a service cluster
(the ``service`` or ``dashboard`` fixture) gets the cluster's log tail as a report section. Programmed
chips are cached in a temporary directory of the test session (``SPINDIFF_CHIP_DIR``, inherited by
the service processes the tests start), never in the user's cache."""

from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("SPINDIFF_CHIP_DIR", tempfile.mkdtemp(prefix="spindiff-test-chips-"))

CLUSTER_FIXTURES = ("service", "dashboard")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
    if report.when != "call" or not report.failed:
        return
    for name in CLUSTER_FIXTURES:
        cluster = item.funcargs.get(name) if name in item.fixturenames else None
        if cluster is not None:
            report.sections.append(("service logs", cluster.tail()))
