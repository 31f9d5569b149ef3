"""Schemathesis (pinned in the dev extra) over the whole OpenAPI document, in process on the embedded Redis:
every generated request, valid or not, gets a declared status in the error shape, never a 5xx, and responses
conform to their schema, and a route that declares the API-key schemes refuses a request without a key.
Bounded: a few derandomized examples per operation, so that it runs in seconds.

Schemathesis's own pytest plugin does not load under pytest 9; each operation is one test here instead,
driven by Hypothesis from the operation's strategy. One check is left out: ``positive_data_acceptance``
(a schema-valid body must be accepted), because the API validates what a schema cannot say — that a
model id or profile name exists, that an override key is a parameter of the profile — with a 422
that names the field; every other check runs, the negative-data one included."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from app.api.main import create_app
from worker import registry
from worker.settings import Settings

EXAMPLES_PER_OPERATION = 15
KEY = "schemathesis-key"


def _operations(app) -> dict:
    # with keys set the document needs one too (app/api/docs.py); without, the header is ignored
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers={"Authorization": f"Bearer {KEY}"})
    return {result.ok().label: result.ok() for result in schema.get_all_operations()}


#: streams that never end on their own (a live table): a call would wait for the client's timeout; their
#: answers are tested in tests/dashboard/test_index_page.py and tests/service/test_many_streams.py
ENDLESS = {"GET /dashboard/jobs/stream"}

# the labels only (no Redis is contacted to build the app or read its schema)
LABELS = sorted(set(_operations(create_app(Settings(redis_url="redis://127.0.0.1:1/0")))) - ENDLESS)


@pytest.mark.parametrize("label", LABELS)
def test_every_operation_answers_as_its_schema_says(make_api, label):
    api = make_api(api_keys=KEY, rate_limit_per_minute=0, queue_cap=100_000)  # keys on: the auth checks run too
    registry.beat(api.redis, "schemathesis@test", {"concurrency": 1}, ttl_s=600)  # a live worker: /readyz is 200
    operation = _operations(api.app)[label]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        case.call_and_validate(headers={"Authorization": f"Bearer {KEY}"}, excluded_checks=[positive_data_acceptance])

    check()
