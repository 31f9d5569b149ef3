"""Tests of diffusion/metrics/large_n_fids.py: keys, recording and lookup of large-N FIDs."""

import pytest

from device.errors import InputError
from diffusion.metrics import large_n_fids


def test_record_then_lookup(tmp_path):
    path = tmp_path / "table.json"
    assert large_n_fids.lookup("ab" * 32, "ddpm", 50, 0.0, "software", path) is None
    row = {
        "profile": "vcma-default",
        "n": 1000,
        "steps": 50,
        "sampler": "ddpm",
        "fid": 12.5,
        "kid_mean": 0.01,
        "kid_std": 0.002,
    }
    key = large_n_fids.record(row, "ab" * 32, 0.0, {"dataset": "fashion-mnist", "split": "test", "n": 10000}, path)
    entry = large_n_fids.lookup("ab" * 32, "ddpm", 50, 0.3, "vcma-default", path)  # η ignored for DDPM
    assert entry["fid"] == 12.5 and entry["n"] == 1000 and entry["reference"]["n"] == 10000
    assert key == large_n_fids.key("ab" * 32, "ddpm", 50, 0.0, "vcma-default")
    assert large_n_fids.lookup("ab" * 32, "ddim", 50, 0.0, "vcma-default", path) is None
    assert large_n_fids.key("x" * 64, "ddim", 20, 0.5, "p") != large_n_fids.key("x" * 64, "ddim", 20, 1.0, "p")


def test_bad_rows_and_files(tmp_path):
    with pytest.raises(InputError, match="fid"):
        large_n_fids.record(
            {"profile": "p", "n": 1, "steps": 1, "sampler": "ddpm"}, "a" * 64, 0.0, {}, tmp_path / "t.json"
        )
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="object"):
        large_n_fids.load(bad)


def test_a_larger_sample_is_not_replaced_by_a_smaller_one(tmp_path):
    path = tmp_path / "table.json"
    ref = {"dataset": "fashion-mnist", "split": "test", "n": 10000, "weights_sha256": "ab"}
    row = {"profile": "software", "steps": 10, "sampler": "ddpm"}
    large_n_fids.record({**row, "n": 500, "fid": 20.0}, "c" * 64, 0.0, ref, path)
    large_n_fids.record({**row, "n": 128, "fid": 60.0}, "c" * 64, 0.0, ref, path)
    assert large_n_fids.lookup("c" * 64, "ddpm", 10, 0.0, "software", path)["fid"] == 20.0
    large_n_fids.record({**row, "n": 10000, "fid": 9.0}, "c" * 64, 0.0, ref, path)
    assert large_n_fids.lookup("c" * 64, "ddpm", 10, 0.0, "software", path)["n"] == 10000


def test_the_weights_hash_is_taken_from_a_reference_files_protocol_block(tmp_path):
    # the records written by diffusion.metrics.reference_stats keep the hash under "protocol"
    ref = {"dataset": "fashion-mnist", "split": "test", "n": 10000, "protocol": {"weights_sha256": "7ff4"}}
    large_n_fids.record(
        {"profile": "software", "n": 10, "steps": 5, "sampler": "ddpm", "fid": 1.0},
        "d" * 64,
        0.0,
        ref,
        tmp_path / "t.json",
    )
    assert (
        large_n_fids.lookup("d" * 64, "ddpm", 5, 0.0, "software", tmp_path / "t.json")["reference"]["weights_sha256"]
        == "7ff4"
    )
