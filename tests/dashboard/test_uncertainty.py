"""What the dashboard shows of the stated uncertainty (app/dashboard/uncertainty.py and the report templates):
FIDs only beside FIDs of the same N, KID with ± and N, the energy-ratio ranges with their assumptions, the
bit-area metric on both bases — for reports of schema 2 (the jobs of tests/dashboard/data/current/, written by
tests/dashboard/fixtures.py) and for the schema-1 jobs kept in tests/dashboard/data/."""

from __future__ import annotations

import copy
import json
import re
from html import unescape
from pathlib import Path

import pytest

from app.dashboard import telemetry, uncertainty
from app.dashboard.routes import _report_context, templates
from diffusion.metrics.per_request import measured_fids
from diffusion.telemetry import report
from tests.dashboard import fixtures

LEGACY = Path(__file__).parent / "data"  # jobs stored before telemetry schema 2, frozen on purpose
#: the model shipped before the 30 000-step one; the FID table keeps its entries (five software sets at N = 500)
SHA = "b0fa69e64cb54501279ff36db3bad1a70b9b74e85dc2c1d96ed4c168dc2ddca6"


def legacy(name: str) -> dict:
    return json.loads((LEGACY / f"{name}_job.json").read_text())


def quality(n: int, profile: str) -> dict:
    return {
        "n": n,
        "batch_fid": {"value": 200.0 + n, "n": n, "reference_n": 10000, "note": "small n"},
        "batch_kid": {"mean": 0.05, "std": 0.01, "subsets": 100, "subset_size": n},
        "fid_calibrated": None,
        **measured_fids(SHA, "ddpm", 10, 0.0, profile),
    }


def current(name: str, n: int) -> dict:
    """A job of ``name``'s fixture as the worker stores it now, with the quality block of ``n`` images
    of the earlier model ``SHA`` (whose offline FID table entries include five software sets at N = 500)."""
    job = fixtures.load(name)
    job["telemetry"] = report.with_quality(job["telemetry"], quality(n, job["request"]["hardware"]["profile"]), 1.0)
    job["request"]["num_images"] = n
    return job


def render(name: str, job: dict) -> str:
    return templates.env.get_template(name).render(**_report_context(job))


def text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_chip_job_shows_software_only_at_its_own_n():
    view = telemetry.quality_view(current("vcma", 16))
    assert [p["n"] for p in view["points"]] == [500] and [p["n"] for p in view["software"]] == [500]
    html = render("_job_report.html", current("vcma", 16))
    rows = re.findall(r'<tr data-n="(\d+)">(.*?)</tr>', html, re.S)
    assert [n for n, _ in rows] == ["500"]
    assert "38.7" not in text(html)  # software's N = 10 000 FID is never on a chip job's page
    assert "60.9 ± 1.2" in text(rows[0][1]) and "89.7 ± 1.2" in text(rows[0][1])
    assert "batch FID, N = 16" in text(html) and "comparable only with batch FIDs of N = 16" in text(html)
    assert "0.0500 ± 0.0100" in text(html) and "N = 16 images" in text(html)


def test_a_statistical_stand_in_for_the_exact_mode_is_said_on_the_page():
    from diffusion.metrics.per_request import STATISTICAL_STAND_IN

    job = current("vcma", 16)
    assert 'id="fid-by-n-note"' not in render("_job_report.html", job)
    job["telemetry"]["quality"]["fid_at_n_note"] = STATISTICAL_STAND_IN
    html = render("_job_report.html", job)
    assert "Not measured in the exact mode: these are the statistical mode's FIDs of the same chip" in text(html)


def test_a_software_job_shows_its_own_fids_one_row_per_n():
    html = render("_job_report.html", current("software", 4))
    rows = dict(re.findall(r'<tr data-n="(\d+)">(.*?)</tr>', html, re.S))
    assert list(rows) == ["500", "10000"] and "38.7" in text(rows["10000"]) and "60.9" in text(rows["500"])
    assert "software, same N" not in html


def test_the_compare_table_never_puts_fids_of_different_n_in_one_row():
    columns = [telemetry.quality_view(current("software", 4)), telemetry.quality_view(current("vcma", 16))]
    rows = uncertainty.compare_rows(columns)
    by_label = {row["label"]: row["cells"] for row in rows}
    assert by_label["FID measured offline, N = 10000"][1] is None  # the chip has no FID at N = 10 000
    assert by_label["FID measured offline, N = 500"][0].startswith("60.9 ± 1.2 (N = 500")
    assert by_label["FID measured offline, N = 500"][1].startswith("89.7 ± 1.2 (N = 500")
    assert by_label["batch FID, N = 4"] == ["204.0", None] and by_label["batch FID, N = 16"] == [None, "216.0"]
    for row in rows:  # every FID row holds one N; KID, unbiased, may compare across N (each cell says its N)
        if "FID" in row["label"]:
            ns = {int(n) for cell in row["cells"] if cell for n in re.findall(r"N = (\d+)", cell)}
            assert ns <= {row["n"]}, row
    assert by_label["batch KID (± std over subsets)"] == ["0.0500 ± 0.0100 (N = 4)", "0.0500 ± 0.0100 (N = 16)"]


def test_the_compare_fragment_renders_the_rows_by_n():
    jobs = [current("software", 4), current("vcma", 16)]
    columns = [{**_report_context(job), "label": f"#{k + 1}"} for k, job in enumerate(jobs)]
    html = templates.env.get_template("_compare_report.html").render(
        columns=columns, figures={}, quality_rows=uncertainty.compare_rows([c["quality"] for c in columns])
    )
    row = re.search(r'<tr class="quality-row" data-n="10000">(.*?)</tr>', html, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[0].startswith("38.7") and cells[1] == "—"
    assert " style=" not in html


def test_energy_ratios_carry_their_range_and_the_assumptions_are_listed():
    job = current("vcma", 2)
    view = telemetry.energy_view(job)
    for row in view["accelerators"]:
        assert row["energy_ratio_low"] < row["energy_ratio"] < row["energy_ratio_high"]
    assert [a["name"] for a in view["ranges"]["assumptions"]] == ["adc_model", "utilisation", "post_layout_factor"]
    page = text(render("_job_report.html", job))
    a100 = view["accelerators"][0]
    assert f"range {uncertainty.range_text(a100['energy_ratio_low'], a100['energy_ratio_high'])}" in page
    for words in (
        "ADC energy model",
        "F3 / F4",
        "GPU/TPU utilisation",
        "0.15 / 0.6",
        "post-layout factor",
        "Not varied",
    ):
        assert words in page, words


def test_the_bit_area_metric_is_shown_on_both_bases_with_its_definition():
    job = current("vcma", 2)
    page = render("_job_report.html", job)
    block = re.search(r'<div class="bit-area" id="bit-area">(.*?)</table>', page, re.S).group(1)
    assert block.count('data-basis="full_die"') == 3 and block.count('data-basis="rng_time_share"') == 3
    words = text(block)
    assert (
        "Cheng et al., Nat. Commun. 16, 5022 (2025)" in words
        and "energy per bit per area = (energy per random bit" in words
    )
    assert "die × RNG time share" in words and "full die" in words and "this chip" in words


@pytest.mark.parametrize("name", ["vcma", "software", "cancelled"])
def test_old_stored_jobs_still_render(name):
    job = legacy(name)
    html = render("_job_report.html", job)
    assert 'id="job-report"' in html and " style=" not in html
    if name != "software":
        assert "stored before telemetry schema 2" in text(html)  # no ranges invented for an old job
        assert 'id="bit-area"' in html  # derived from what it stored


@pytest.mark.parametrize("name", fixtures.NAMES)
def test_jobs_as_stored_now_render(name):
    html = render("_job_report.html", fixtures.load(name))
    assert 'id="job-report"' in html and " style=" not in html
    assert "stored before telemetry schema 2" not in text(html)
    if name != "software":
        assert 'id="bit-area"' in html


def test_an_old_job_with_a_calibrated_fid_shows_it_with_its_n_and_no_invented_spread():
    job = legacy("vcma")
    job["telemetry"]["quality"] = {
        "n": 2,
        "batch_fid": {"value": 212.5, "n": 2, "reference_n": 10000, "note": "small n"},
        "batch_kid": {"mean": 0.21, "std": 0.02, "subsets": 100, "subset_size": 2},
        "fid_calibrated": {"value": 89.7, "n": 500, "source": "table", "note": "offline"},
    }
    view = telemetry.quality_view(copy.deepcopy(job))
    assert (
        view["points"][0]["n"] == 500
        and view["points"][0]["sd"] is None
        and view["software"] == []
        and view["upgraded"]
    )
    assert view["kid"]["n"] == 2 and view["kid"]["interval"]["low"] == pytest.approx(0.19)
    page = text(render("_job_report.html", job))
    assert "89.7 (1 seed set)" in page and "not measured at this N" in page


def test_a_paired_job_shows_its_twin_at_the_same_n_and_its_fidelity():
    job = current("vcma", 16)
    job["telemetry"]["quality"]["paired"] = {
        "n": 16,
        "twin_batch_fid": 190.0,
        "twin_batch_kid": {"mean": 0.03, "std": 0.01},
        "fid_difference": 26.0,
        "kid_difference": 0.02,
        "note": "same noise",
    }
    job["telemetry"]["fidelity"] = {
        "n": 16,
        "identical": 0,
        "same_noise": True,
        "psnr_db": {"mean": 21.5, "min": 15.0},
        "ssim": {"mean": 0.81, "min": 0.6},
    }
    page = text(render("_job_report.html", job))
    assert "software twin, same N = 16" in page and "ΔFID +26.0" in page
    assert "SSIM 0.810 (min 0.600) · PSNR 21.5 dB · 0 of 16 identical" in page
