"""Bad bodies are 422 with the offending field named and a message a person can act on; nothing is queued.

In process (the ``api`` fixture, tests/service/conftest.py): what is checked is the API's answer and
the job store, not a worker."""

from __future__ import annotations

import pytest

from device import profiles
from tests.service.helpers import TINY

CASES = [
    ({"num_images": 0}, "num_images", "greater than or equal to 1"),
    ({"num_images": 65}, "num_images", "less than or equal to 64"),
    ({"steps": 0}, "steps", "greater than or equal to 1"),
    ({"steps": 1001}, "steps", "less than or equal to 1000"),
    ({"sampler": "euler"}, "sampler", "'ddpm' or 'ddim'"),
    ({"eta": 0.5}, "eta", "ddim sampler only"),
    ({"sampler": "ddim", "eta": 1.5}, "eta", "less than or equal to 1"),
    ({"seed": -1}, "seed", "greater than or equal to 0"),
    ({"num_imgs": 4}, "num_imgs", "unknown field"),
    ({"model": "gpt"}, "model", "known models: default"),
    ({"hardware": "vcma-nope"}, "hardware", "unknown profile 'vcma-nope'"),
    ({"hardware": {"profile": "vcma-nope", "overrides": {}}}, "hardware.profile", "unknown profile"),
    (
        {"hardware": {"profile": "vcma-default", "overrides": {"rng": {"nope": 1}}}},
        "hardware.overrides.rng.nope",
        "unknown key rng.nope",
    ),
    (
        {"hardware": {"profile": "vcma-default", "overrides": {"rng": {"dac_bits": 99}}}},
        "hardware.overrides.rng.dac_bits",
        "[1, 16]",
    ),
    (
        {"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": "eight"}}}},
        "hardware.overrides.crossbar.adc_bits",
        "must be an integer",
    ),
    (
        {"hardware": {"profile": "vcma-default", "overrides": {"magic": {"x": 1}}}},
        "hardware.overrides.magic",
        "unknown profile key 'magic'",
    ),
    (  # a coupling across sections, caught by the override that breaks it on its own
        {"hardware": {"profile": "vcma-default", "overrides": {"rng": {"relax_time": 1e-9}}}},
        "hardware.overrides.rng.relax_time",
        "raise rng.relax_time",
    ),
    (
        {"hardware": {"profile": "vcma-default", "overrides": {"crossbar": {"adc_bits": 6}, "name": {"x": 1}}}},
        "hardware.overrides.name",
        "may not rename",
    ),
    (  # a JSON integer too large for a float field
        {"hardware": {"profile": "vcma-default", "overrides": {"rng": {"pulse_voltage": 10**400}}}},
        "hardware.overrides.rng.pulse_voltage",
        "too large",
    ),
    (
        {"hardware": {"profile": "software", "overrides": {"rng": {"dac_bits": 8}}}},
        "hardware.overrides",
        "no hardware parameters",
    ),
    ({"quality": {"enabled": "maybe"}}, "quality.enabled", "valid boolean"),
    ({"noise": "quantum"}, "noise", "'torch' or 'mtj'"),
    ({"paired": True}, "paired", "a 'software' request has none"),
    ({"paired": "often"}, "paired", "valid boolean"),
]


def code_of(field: str) -> str:
    """The error code a bad ``field`` is answered with: profiles and models have their own."""
    if field.startswith("hardware") and field != "hardware.overrides":
        return "invalid_profile"
    return "unknown_model" if field == "model" else "validation_error"


@pytest.mark.parametrize("change, field, words", CASES, ids=[c[1] + ":" + c[2][:20] for c in CASES])
def test_bad_body_is_422_naming_the_field(api, change, field, words):
    response = api.client.post("/v1/generations", json={**TINY, **change})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert words in error["message"], error
    assert error["code"] == code_of(field)
    assert sum(api.store.counts().values()) == 0 and api.redis.llen(api.settings.queue) == 0


def test_a_body_that_is_not_json_is_422(api):
    response = api.client.post(
        "/v1/generations", content=b"{num_images: 4", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422 and "not valid JSON" in response.json()["error"]["message"]
    response = api.client.post("/v1/generations", json=[1, 2])
    assert response.status_code == 422 and response.json()["error"]["message"]


def test_a_body_without_hardware_defaults_to_vcma_default_as_a_profile_spec():
    # the default must go through the same validator as a given value (it once reached the worker as a bare string)
    from app.api.schemas import GenerationCreate, HardwareSpec

    body = GenerationCreate(num_images=1, steps=2)
    assert isinstance(body.hardware, HardwareSpec) and body.hardware.profile == "vcma-default"


def test_profile_errors_are_answered_by_the_api_itself_with_the_known_names(api):
    # profiles resolve in the API process (device.profiles): the same bodies the catalog helper gave
    known = ", ".join(profiles.PROFILES)
    client = api.client
    response = client.post("/v1/generations", json={**TINY, "hardware": "vcma-nope"})
    assert response.status_code == 422
    message = f"unknown profile 'vcma-nope'; known profiles: {known}, or 'software'"
    assert response.json() == {
        "error": {
            "code": "invalid_profile",
            "message": message,
            "field": "hardware",
            "details": [{"field": "hardware", "message": message}],
        }
    }
    overrides = {"crossbar": {"adc_bits": 6}, "rng": {"dac_bits": 99}}
    response = client.post(
        "/v1/generations", json={**TINY, "hardware": {"profile": "vcma-default", "overrides": overrides}}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_profile" and error["field"] == "hardware.overrides.rng.dac_bits"
    assert error["message"] == "RNGParameters.dac_bits must lie in [1, 16], got 99"
    assert error["details"] == [{"field": "hardware.overrides.rng.dac_bits", "message": error["message"]}]
    response = client.get("/v1/profiles/vcma-nope")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "profile_not_found",
            "message": f"unknown profile 'vcma-nope'; known profiles: {known}",
            "field": "name",
        }
    }
    listed = client.get("/v1/profiles").json()
    assert [p["name"] for p in listed] == [*profiles.PROFILES, "software"]
    assert [p["hash"] for p in listed[:-1]] == [p.hash for p in profiles.list_profiles()]


def test_every_problem_is_answered_at_once_each_at_its_own_field(api):
    # two bad overrides of one section, one of another, a coupling and a bad request field: one 422 lists
    # them all (details), each at the field it belongs to (the read_noise one under read_noise, not adc_bits)
    overrides = {
        "crossbar": {"adc_bits": 99, "read_noise": -0.5, "tile_cols": 7},
        "rng": {"relax_time": 1e-9, "calibration": "sometimes"},
        "mtj": {"demag_x": 0.5},
    }
    body = {**TINY, "num_images": 0, "hardware": {"profile": "vcma-default", "overrides": overrides}}
    response = api.client.post("/v1/generations", json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    found = {d["field"]: d["message"] for d in error["details"]}
    assert set(found) == {
        "num_images",
        "hardware.overrides.crossbar.adc_bits",
        "hardware.overrides.crossbar.read_noise",
        "hardware.overrides.crossbar.tile_cols",
        "hardware.overrides.rng.calibration",
        "hardware.overrides.mtj.demag_x",
    }, found  # the relax_time coupling is checked once the sections build: after these are fixed
    assert "adc_bits must lie in [2, 14]" in found["hardware.overrides.crossbar.adc_bits"]
    assert "read_noise must be >= 0, got -0.5" in found["hardware.overrides.crossbar.read_noise"]
    assert "tile_cols must lie in [8, 4096]" in found["hardware.overrides.crossbar.tile_cols"]
    assert "('none', 'calibrated', 'calibrated_xor')" in found["hardware.overrides.rng.calibration"]
    assert "demag_x + demag_y + demag_z must be 1" in found["hardware.overrides.mtj.demag_x"]
    assert "greater than or equal to 1" in found["num_images"]
    assert error["field"] == error["details"][0]["field"] and error["message"] == error["details"][0]["message"]
    # with the section values fixed, the cross-section couplings: each at the override that breaks it
    overrides = {"rng": {"relax_time": 1e-9, "read_voltage": 1e-4}}
    response = api.client.post(
        "/v1/generations", json={**TINY, "hardware": {"profile": "vcma-default", "overrides": overrides}}
    )
    found = {d["field"]: d["message"] for d in response.json()["error"]["details"]}
    assert set(found) == {"hardware.overrides.rng.relax_time", "hardware.overrides.rng.read_voltage"}, found
    assert "raise rng.relax_time" in found["hardware.overrides.rng.relax_time"]
    assert "misreads a random bit" in found["hardware.overrides.rng.read_voltage"]
    assert sum(api.store.counts().values()) == 0


def test_the_openapi_document_describes_every_override_from_the_parameter_metadata(api):
    import dataclasses

    from device.crossbar_parameters import CrossbarParameters

    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    overrides = next(
        o for o in schemas["HardwareSpec"]["properties"]["overrides"]["anyOf"] if o.get("type") == "object"
    )
    crossbar = overrides["properties"]["crossbar"]
    assert set(crossbar["properties"]) == {f.name for f in dataclasses.fields(CrossbarParameters)}
    adc = crossbar["properties"]["adc_bits"]
    assert adc["type"] == "integer" and adc["anyOf"] == [{"const": 0}, {"minimum": 2, "maximum": 14}]
    assert adc["title"] == "ADC bits" and adc["default"] == 8 and adc["x-source"]
    read_time = crossbar["properties"]["read_time"]
    assert read_time["exclusiveMinimum"] == 0 and read_time["x-unit"] == "s"
    assert crossbar["properties"]["emulation"]["enum"] == ["exact", "statistical"]
    assert crossbar["properties"]["read_noise"]["type"] == ["number", "null"]
    assert overrides["additionalProperties"] is False and crossbar["additionalProperties"] is False
