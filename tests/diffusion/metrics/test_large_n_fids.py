"""Tests of diffusion/metrics/large_n_fids.py: one entry per (configuration, N, seed set); recording and lookup."""

import json

import pytest

from device.errors import InputError
from diffusion.metrics import large_n_fids
from diffusion.shipped import FID_TABLE

REF = {"dataset": "fashion-mnist", "split": "test", "n": 10000, "weights_sha256": "ab"}
ROW = {"profile": "software", "steps": 10, "sampler": "ddpm", "seed": 0, "batch": 50}


def test_record_then_lookup(tmp_path):
    path = tmp_path / "table.json"
    assert large_n_fids.lookup("ab" * 32, "ddpm", 50, 0.0, "software", path) is None
    row = {**ROW, "profile": "vcma-default", "n": 1000, "steps": 50, "fid": 12.5, "kid_mean": 0.01, "kid_std": 0.002}
    key = large_n_fids.record(row, "ab" * 32, 0.0, {"dataset": "fashion-mnist", "split": "test", "n": 10000}, path)
    entry = large_n_fids.lookup("ab" * 32, "ddpm", 50, 0.3, "vcma-default", path)  # η ignored for DDPM
    assert entry["fid"] == 12.5 and entry["n"] == 1000 and entry["sets"] == 1 and entry["reference"]["n"] == 10000
    assert (
        key
        == large_n_fids.key("ab" * 32, "ddpm", 50, 0.0, "vcma-default")
        == "abababababababab/ddpm/steps=50/vcma-default"
    )
    assert large_n_fids.lookup("ab" * 32, "ddim", 50, 0.0, "vcma-default", path) is None
    assert large_n_fids.lookup("ab" * 32, "ddpm", 50, 0.0, "vcma-default/statistical", path) is None  # another mode
    assert large_n_fids.key("x" * 64, "ddim", 20, 0.5, "p") != large_n_fids.key("x" * 64, "ddim", 20, 1.0, "p")


def test_every_n_and_seed_set_is_its_own_entry_and_the_same_identity_replaces(tmp_path):
    path = tmp_path / "table.json"
    sha = "c" * 64
    large_n_fids.record({**ROW, "n": 500, "fid": 20.0}, sha, 0.0, REF, path)
    large_n_fids.record({**ROW, "n": 500, "seed": 500, "batch": 25, "fid": 22.0}, sha, 0.0, REF, path)
    large_n_fids.record({**ROW, "n": 128, "fid": 60.0}, sha, 0.0, REF, path)
    assert [(e["n"], e["seed"]) for e in large_n_fids.entries(sha, "ddpm", 10, 0.0, "software", path)] == [
        (128, 0),
        (500, 0),
        (500, 500),
    ]
    quoted = large_n_fids.lookup(sha, "ddpm", 10, 0.0, "software", path)
    assert (quoted["n"], quoted["sets"], quoted["fid"]) == (500, 2, pytest.approx(21.0))  # largest N, mean of its sets
    large_n_fids.record({**ROW, "n": 500, "fid": 24.0}, sha, 0.0, REF, path)  # the seed-0 set re-measured
    assert sorted(e["fid"] for e in large_n_fids.entries(sha, "ddpm", 10, 0.0, "software", path) if e["n"] == 500) == [
        22.0,
        24.0,
    ]
    large_n_fids.record({**ROW, "n": 10000, "batch": 100, "fid": 9.0}, sha, 0.0, REF, path)
    assert large_n_fids.lookup(sha, "ddpm", 10, 0.0, "software", path)["n"] == 10000


def test_the_emulation_mode_is_part_of_the_configuration(tmp_path):
    path = tmp_path / "table.json"
    large_n_fids.record({**ROW, "profile": "vcma-default", "n": 500, "fid": 90.0}, "e" * 64, 0.0, REF, path)
    large_n_fids.record({**ROW, "profile": "vcma-default/statistical", "n": 500, "fid": 91.0}, "e" * 64, 0.0, REF, path)
    (exact,) = large_n_fids.entries("e" * 64, "ddpm", 10, 0.0, "vcma-default", path)
    (statistical,) = large_n_fids.entries("e" * 64, "ddpm", 10, 0.0, "vcma-default/statistical", path)
    assert (exact["emulation"], exact["fid"]) == ("exact", 90.0)
    assert (statistical["profile"], statistical["emulation"], statistical["fid"]) == (
        "vcma-default",
        "statistical",
        91.0,
    )
    with pytest.raises(InputError, match="unknown emulation mode 'fast'"):
        large_n_fids.parse_label("vcma-default/fast")


def test_the_noise_source_is_part_of_the_identity(tmp_path):
    path = tmp_path / "table.json"
    chip = {**ROW, "profile": "vcma-default", "n": 500}
    large_n_fids.record({**chip, "fid": 90.0, "noise": "mtj"}, "f" * 64, 0.0, REF, path)
    large_n_fids.record({**chip, "fid": 88.0}, "f" * 64, 0.0, REF, path)  # torch noise: paired with software
    found = large_n_fids.entries("f" * 64, "ddpm", 10, 0.0, "vcma-default", path)
    assert sorted((e["noise"], e["fid"]) for e in found) == [("mtj", 90.0), ("torch", 88.0)]
    with pytest.raises(InputError, match="noise must be one of"):
        large_n_fids.record({**chip, "fid": 1.0, "noise": "dice"}, "f" * 64, 0.0, REF, path)


def test_bad_rows_and_files(tmp_path):
    with pytest.raises(InputError, match="needs 'fid'"):
        large_n_fids.record({**ROW, "n": 1}, "a" * 64, 0.0, {}, tmp_path / "t.json")
    with pytest.raises(InputError, match="needs 'seed'"):
        large_n_fids.record(
            {"profile": "p", "n": 1, "steps": 1, "sampler": "ddpm", "fid": 1.0}, "a" * 64, 0.0, {}, tmp_path / "t.json"
        )
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(InputError, match="list of 'entries'"):
        large_n_fids.load(bad)
    bad.write_text(json.dumps({"entries": [{"fid": 1.0}]}))
    with pytest.raises(InputError, match="entry 0 lacks"):
        large_n_fids.load(bad)
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        large_n_fids.load(bad)
    assert large_n_fids.load(tmp_path / "absent.json") == []


def test_the_weights_hash_is_taken_from_a_reference_files_protocol_block(tmp_path):
    # the records written by diffusion.metrics.reference_stats keep the hash under "protocol"
    ref = {"dataset": "fashion-mnist", "split": "test", "n": 10000, "protocol": {"weights_sha256": "7ff4"}}
    large_n_fids.record({**ROW, "n": 10, "steps": 5, "fid": 1.0}, "d" * 64, 0.0, ref, tmp_path / "t.json")
    entry = large_n_fids.lookup("d" * 64, "ddpm", 5, 0.0, "software", tmp_path / "t.json")
    assert entry["reference"]["weights_sha256"] == "7ff4"


def test_the_shipped_table_loads_and_has_one_entry_per_identity():
    table = large_n_fids.load(FID_TABLE)
    identities = [tuple(e[f] for f in large_n_fids.IDENTITY) for e in table]
    assert table and len(identities) == len(set(identities))
    for entry in table:
        assert entry["emulation"] in (None, *large_n_fids.EMULATION_MODES)
        assert (entry["emulation"] is None) == (entry["profile"] == "software")
