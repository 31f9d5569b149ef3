"""Odd bodies answer 422 in the error shape with a meaningful field, never a 5xx (issue 16): lone UTF-16
surrogates in keys, JSON that does not parse (no character offset as the field), bytes that are not UTF-8, a
body that is not a JSON object."""

from __future__ import annotations

import pytest

JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (
            "/v1/generations",
            rb'{"hardware": {"profile": "vcma-default", "overrides": {"\ud800x": {"a": 1}}}}',
            r"hardware.overrides.\ud800x",
        ),
        (
            "/v1/generations",
            rb'{"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"\udfff": 1}}}}',
            r"hardware.overrides.crossbar.\udfff",
        ),
        ("/v1/generations", rb'{"hardware": "\ud800"}', "hardware.profile"),
        ("/v1/sweeps", rb'{"axes": {"crossbar.\ud800": [1, 2]}}', r"axes.crossbar.\ud800"),
    ],
)
def test_lone_surrogates_are_quoted_escaped_in_a_422(api, path, raw, field):
    response = api.client.post(path, content=raw, headers=JSON)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("raw", "headers", "message"),
    [
        (
            b'{"num_images": 1,',
            JSON,
            "the body is not valid JSON: Expecting property name enclosed in double quotes at character 17",
        ),
        (b"not json", JSON, "the body is not valid JSON: Expecting value at character 0"),
        (b'{"a"\xff: 1}', JSON, "the body is not valid JSON: it is not UTF-8 text"),
        (
            b"{}",
            {"content-type": "text/plain"},
            "the body must be a JSON object (send it with Content-Type: application/json)",
        ),
    ],
)
def test_unparseable_bodies_are_422_without_a_field(api, raw, headers, message):
    response = api.client.post("/v1/generations", content=raw, headers=headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["message"], error["field"]) == ("validation_error", message, None)
    assert api.store.counts().get("queued", 0) == 0
