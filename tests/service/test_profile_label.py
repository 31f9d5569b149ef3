"""The job's profile label: what the metrics count it under and what the worker looks the FID table up by."""

from __future__ import annotations

from app.api.routes.generations import profile_label
from tests.service.helpers import TINY, submit


def test_only_the_emulation_mode_keeps_a_preset_its_own_label():
    assert profile_label("vcma-default", None) == "vcma-default"
    assert profile_label("vcma-default", {"crossbar": {"emulation": "exact"}}) == "vcma-default"
    assert profile_label("vcma-default", {"crossbar": {"emulation": "statistical"}}) == "vcma-default/statistical"
    assert (
        profile_label("vcma-default", {"crossbar": {"emulation": "statistical", "adc_bits": 6}})
        == "vcma-default+overrides"
    )


def test_a_statistical_request_is_stored_under_the_label_the_fid_table_knows(api):
    body = {**TINY, "hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"emulation": "statistical"}}}}
    created = submit(api.client, body)
    assert api.store.get(created["id"])["profile_label"] == "vcma-default/statistical"
