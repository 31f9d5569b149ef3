"""The dashboard's figures: SVG charts (`app.dashboard.charts`) of one job's or several jobs' telemetry.

Each function takes views from `app.dashboard.telemetry` and returns ``{name: Figure}``; a figure
has a title, the SVG, an optional HTML legend (``[(css key, text)]``) and a caption saying what is
drawn and on which scale. Names absent from the result mean the data is not there (a software job
has no chip energy, area or latency).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

from app.dashboard.charts import Bar, bar_chart, plain, si, stacked_chart


@dataclass(frozen=True)
class Figure:
    title: str
    svg: Markup
    caption: str = ""
    legend: list[tuple[str, str]] = field(default_factory=list)


def _chip(text: str) -> str:
    """A bar's note on the chip against that accelerator: ``'· chip 72× slower'``, ``'· chip 92.8× less'``."""
    return f"· chip {text}" if text else ""


def _share(part: float | None, whole: float | None) -> str:
    return f"({part / whole:.0%})" if part is not None and whole else ""


def _energy_vs(energy: dict) -> Figure:
    chip = energy["chip"]
    bars = [Bar("this chip", energy["energy_per_image_j"], "chip")] if chip else []
    bars += [
        Bar(a["short"], a["energy_per_image_j"], "gpu", _chip(a["energy_vs"]) if chip else "")
        for a in energy["accelerators"]
    ]
    utilisation = f"{energy['baseline_utilisation']:.0%}" if energy["baseline_utilisation"] else "an assumed fraction"
    caption = f"Log scale. GPU/TPU: TDP × time at {utilisation} of peak for the same FLOPs and random numbers"
    caption += (
        "; each bar says how much less (or more) energy the chip uses per image."
        if chip
        else ". A software job has no chip figures."
    )
    title = "Energy per image: chip vs GPU/TPU" if chip else "Energy per image on a GPU/TPU"
    chart = bar_chart(
        bars, "J", log=True, axis_title="energy per image (J, log scale)", label="energy per image, log scale"
    )
    return Figure(title, chart, caption)


def _components(energy: dict) -> Figure:
    bars = [Bar(c["label"], c["j_per_image"], f"seg-{c['key']}", _share(c["share"], 1.0)) for c in energy["components"]]
    caption = f"Inference only, {si(energy['energy_per_image_j'], 'J')} per image in all"
    if energy["one_off"]:
        caption += f"; programming this chip cost {si(sum(o['j'] for o in energy['one_off']), 'J')} once (not included)"
    chart = bar_chart(bars, "J", axis_title="energy per image (J)", label="energy per image by component")
    return Figure("Energy per image by component", chart, caption + ".")


def _area(energy: dict) -> Figure:
    total = energy["area_total_mm2"]
    bars = [Bar(a["label"], a["mm2"], f"area-{a['key']}", _share(a["mm2"], total)) for a in energy["area"]]
    dies = ", ".join(
        f"{a['short']} die {plain(a['die_area_mm2'], 'mm²')}" for a in energy["accelerators"] if a["die_area_mm2"]
    )
    caption = f"{plain(total, 'mm²')} in all" + (f" · for scale: {dies}" if dies else "") + "."
    return Figure(
        "Chip area by block",
        bar_chart(bars, "mm²", fmt=plain, axis_title="area (mm²)", label="chip area by block"),
        caption,
    )


def _latency(energy: dict) -> Figure:
    latency = energy["latency"] or {}
    bars = [Bar("this chip", latency.get("per_image"), "chip")]
    bars += [Bar(a["short"], a["time_per_image_s"], "gpu", _chip(a["speed"])) for a in energy["accelerators"]]
    caption = (
        f"Log scale; each bar says how much slower (or faster) the chip is per image. Chip: {si(latency.get('per_step'), 's')} per step; crossbar MVMs "
        f"{si(latency.get('mvm'), 's')}, digital {si(latency.get('digital'), 's')}, RNG {si(latency.get('rng'), 's')} for the "
        f"whole job. {energy['latency_model']}"
    )
    chart = bar_chart(
        bars, "s", log=True, axis_title="time per image (s, log scale)", label="latency per image, log scale"
    )
    return Figure("Latency per image: chip vs GPU/TPU", chart, caption)


def job_figures(energy: dict | None) -> dict[str, Figure]:
    """Energy vs GPU/TPU, energy by component, area, latency of one job."""
    if not energy:
        return {}
    figures = {"energy_vs": _energy_vs(energy)} if energy["chip"] or energy["accelerators"] else {}
    if energy["chip"]:
        figures.update(components=_components(energy), area=_area(energy), latency=_latency(energy))
    return figures


def _reference_rows(energies: list[dict | None], value_key: str) -> list[Bar]:
    """GPU/TPU bars for several jobs: one per accelerator when all jobs agree, else one per job."""
    rows: list[Bar] = []
    keys = []
    for energy in energies:
        for a in (energy or {}).get("accelerators", []):
            if a["key"] not in keys:
                keys.append(a["key"])
    for key in keys:
        found = [(k, a) for k, e in enumerate(energies) for a in (e or {}).get("accelerators", []) if a["key"] == key]
        values = {round(a[value_key] or 0.0, 20) for _, a in found}
        if len(values) == 1:
            rows.append(Bar(found[0][1]["short"], found[0][1][value_key], "gpu"))
        else:
            rows += [Bar(f"{a['short']} (#{k + 1})", a[value_key], "gpu") for k, a in found]
    return rows


def compare_figures(labels: list[str], energies: list[dict | None]) -> dict[str, Figure]:
    """Side-by-side charts of 2–4 jobs; ``labels[k]`` names job k (``'#1 vcma-default'``)."""
    figures: dict[str, Figure] = {}
    chips = [(label, e) for label, e in zip(labels, energies) if e and e["chip"]]
    bars = [Bar(label, e["energy_per_image_j"], "chip") for label, e in chips] + _reference_rows(
        energies, "energy_per_image_j"
    )
    if bars:
        figures["energy_vs"] = Figure(
            "Energy per image",
            bar_chart(
                bars,
                "J",
                log=True,
                axis_title="energy per image (J, log scale)",
                label="energy per image of each job, log scale",
            ),
            "Log scale. GPU/TPU rows are the same workload on those accelerators.",
        )
    if chips:
        components = chips[0][1]["components"]
        figures["components"] = Figure(
            "Energy per image by component",
            stacked_chart(
                [(label, [(f"seg-{c['key']}", c["j_per_image"]) for c in e["components"]]) for label, e in chips],
                "J",
                axis_title="energy per image (J)",
                label="energy per image by component",
            ),
            "Inference only; chip jobs.",
            [(f"seg-{c['key']}", c["label"]) for c in components],
        )
        figures["area"] = Figure(
            "Chip area by block",
            stacked_chart(
                [(label, [(f"area-{a['key']}", a["mm2"]) for a in e["area"]]) for label, e in chips],
                "mm²",
                fmt=plain,
                axis_title="area (mm²)",
                label="chip area by block",
            ),
            "Chip jobs.",
            [(f"area-{a['key']}", a["label"]) for a in chips[0][1]["area"]],
        )
        bars = [Bar(label, (e["latency"] or {}).get("per_image"), "chip") for label, e in chips]
        figures["latency"] = Figure(
            "Latency per image",
            bar_chart(
                bars + _reference_rows(energies, "time_per_image_s"),
                "s",
                log=True,
                axis_title="time per image (s, log scale)",
                label="latency per image of each job, log scale",
            ),
            "Log scale.",
        )
    return figures
