"""The request schemas take JSON types as they are declared: no string or boolean is coerced into an integer,
no string into a boolean (issue 16: "num_images": "1" or true and "preview": "yes" were accepted)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"num_images": "1"}, "num_images"),
        ({"num_images": True}, "num_images"),
        ({"steps": 2.5}, "steps"),
        ({"seed": "7"}, "seed"),
        ({"preview": "yes"}, "preview"),
        ({"paired": 1}, "paired"),
        ({"quality": {"enabled": "false"}}, "quality.enabled"),
        ({"eta": "0.5", "sampler": "ddim"}, "eta"),
    ],
)
def test_a_generation_field_of_the_wrong_json_type_is_a_422_naming_it(api, body, field):
    response = api.client.post("/v1/generations", json={"steps": 1, "num_images": 1, **body})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert api.store.counts().get("queued", 0) == 0


def test_numbers_of_the_declared_kind_are_still_taken(api):
    # an integer where a float is declared is a number all the same, and 2.0 is an integer to JSON
    # Schema; overrides keep their JSON types
    body = {
        "num_images": 1.0,
        "steps": 1,
        "sampler": "ddim",
        "eta": 0,
        "hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 6, "read_time": 4e-9}}},
    }
    assert api.client.post("/v1/generations", json=body).status_code == 202


def test_sweep_fields_are_as_strict(api):
    response = api.client.post("/v1/sweeps", json={"axes": {"crossbar.adc_bits": [6, 8]}, "num_images": "4"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "num_images"
