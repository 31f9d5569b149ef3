"""app/sweep_scaling.py: what it compares between runs (the measurement itself is docs/serving.md's)."""

from app.api.sweep_schemas import SweepCreate
from app.sweep_scaling import BODY, essence


def test_its_body_is_a_valid_sweep():
    SweepCreate.model_validate(BODY)


def test_essence_keeps_results_and_hash_not_timing():
    point = {
        "profile_hash": "ab",
        "progress": {"step": 10, "eta_s": 0.0},
        "results": {
            "fid": 1.5,
            "kid_mean": 0.1,
            "kid_std": 0.01,
            "energy_per_image_j": 2e-6,
            "energy_per_image_by_component_j": {"adc": 1e-6},
            "latency_per_image_s": 3e-3,
        },
    }
    assert essence(point) == {
        "profile_hash": "ab",
        "fid": 1.5,
        "kid_mean": 0.1,
        "kid_std": 0.01,
        "energy_per_image_j": 2e-6,
        "energy_per_image_by_component_j": {"adc": 1e-6},
    }
    assert essence({**point, "results": None})["fid"] is None
