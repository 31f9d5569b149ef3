"""Named hardware profiles: frozen, hashable, serialisable to and from JSON.

A profile is data with a citation (house rule 2): every preset is the default profile changed with
`dataclasses.replace`, never a class of its own. Later parts of the emulator (crossbars, periphery,
technology) join as further sections. The regime each preset runs in is stated in its description,
because the compact switching model is validated per regime (docs/physics.md).

A profile also checks what physics ties between its sections (`_check_couplings`: the random-bit
relax time against the free layer's relaxation, the random-bit read against its noise), and each
error names the knob to turn; the crossbar's read noise is derived from its read
(`device.read_noise`; ``crossbar.read_noise`` is null unless overridden). docs/physics.md and
docs/crossbar.md ("Which profile values are derived") list the couplings.

This module imports only the standard library, numpy and the numba-free parameter modules
(`device.mtj_parameters`, `device.rng_parameters`, `device.crossbar_parameters`,
`device.technology_parameters`, `device.read_noise`), so the API process resolves profiles and
overrides itself without loading numba, scipy or torch (tests/service/test_health_metrics.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from device.crossbar_parameters import CrossbarParameters
from device.errors import FieldError, ParameterError, ProfileError, SpindiffError
from device.mtj_parameters import (
    NO_VARIATION,
    MTJParameters,
    VariationParameters,
    hard_axis_relaxation_time,
    resistance,
)
from device.parameter_spec import describe, json_schema
from device.read_noise import DEFAULT_NOISE_FACTOR, relative_read_noise
from device.rng_parameters import RNGParameters
from device.technology_parameters import TechnologyParameters

if TYPE_CHECKING:
    from device.rng import MTJRandomSource

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class HardwareProfile:
    """Everything that defines an emulated chip. Sections are frozen parameter dataclasses."""

    name: str
    description: str
    mtj: MTJParameters = MTJParameters()
    variation: VariationParameters = VariationParameters()
    rng: RNGParameters = RNGParameters()
    crossbar: CrossbarParameters = CrossbarParameters()
    technology: TechnologyParameters = TechnologyParameters()

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or not set(self.name) <= _NAME_CHARS or len(self.name) > 64:
            raise ProfileError(f"profile name must be 1–64 characters of a-z, 0-9, '-', '_', '.', got {self.name!r}")
        if not isinstance(self.description, str):
            raise ProfileError(f"profile description must be a string, got {type(self.description).__name__}")
        _check_couplings(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON (sorted keys, no whitespace): identifies the chip design."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


#: Largest read error probability of a random-bit read that the emulator may treat as exact.
RNG_READ_ERROR_LIMIT = 1e-6
#: Zero-bias relaxation times the free layer needs after a pulse before it is read (as many as the
#: hard-axis model asks of a pulse, `device.mtj.hard_axis_model_valid`).
RELAX_TIMES = 8.0


def rng_read_error_probability(profile: HardwareProfile) -> float:
    """P(a random-bit read mistakes P for AP or back), threshold midway between the two currents.

    Each state's read current carries its own thermal + shot noise (`device.read_noise`, at its own
    conductance, F16) over Δf = 1/(2·rng.read_time), times the crossbar's read-path noise factor
    (the same sense-amplifier design — an assumption). The random source treats reads as exact.
    """
    m, r, f = profile.mtj, profile.rng, profile.crossbar.read_noise_factor
    g_p, g_ap = (1.0 / float(resistance(m, s, r.read_voltage)) for s in (1.0, -1.0))
    half_gap = 0.5 * (g_p - g_ap) * r.read_voltage
    worst = max(
        relative_read_noise(g, r.read_voltage, r.read_time, m.temperature, f) * g * r.read_voltage for g in (g_p, g_ap)
    )
    return 0.5 * math.erfc(half_gap / worst / math.sqrt(2.0))


#: The fields each coupling reads: the knob it names first (docs/physics.md).
RELAX_FIELDS = (
    "rng.relax_time",
    "mtj.damping",
    "mtj.interfacial_anisotropy",
    "mtj.saturation_magnetisation",
    "mtj.free_layer_thickness",
    "mtj.demag_x",
    "mtj.demag_z",
)
READ_FIELDS = (
    "rng.read_time",
    "rng.read_voltage",
    "crossbar.read_noise_factor",
    "mtj.resistance_parallel",
    "mtj.tmr",
    "mtj.tmr_half_voltage",
    "mtj.temperature",
)


def _check_couplings(profile: HardwareProfile) -> None:
    """Constraints physics puts across sections; each error names the knob to turn (and, in
    ``ProfileError.errors``, the fields it read)."""
    if profile.rng.source != "mtj":
        return
    errors = []
    settle = RELAX_TIMES * float(hard_axis_relaxation_time(profile.mtj, 0.0))
    if profile.rng.relax_time < settle:
        message = (
            f"rng.relax_time = {profile.rng.relax_time:.3g} s is shorter than {RELAX_TIMES:g} zero-bias relaxation times of "
            f"the free layer ({settle:.3g} s): the device has not settled to ±z when it is read; raise rng.relax_time "
            "(the bit rate follows from pulse_width, relax_time and read_time, rng.cycle_time)"
        )
        errors.append(FieldError(RELAX_FIELDS[0], message, RELAX_FIELDS[1:]))
    error = rng_read_error_probability(profile)
    if error > RNG_READ_ERROR_LIMIT:
        message = (
            f"rng.read_time = {profile.rng.read_time:.3g} s at rng.read_voltage = {profile.rng.read_voltage} V misreads "
            f"a random bit with probability {error:.2g} > {RNG_READ_ERROR_LIMIT:g} (thermal, shot and sense noise; reads "
            "are modelled as exact): raise rng.read_time or rng.read_voltage"
        )
        errors.append(FieldError(READ_FIELDS[0], message, READ_FIELDS[1:]))
    if errors:
        raise ProfileError.of(errors)


_SECTIONS = {f.name: f.type for f in dataclasses.fields(HardwareProfile) if f.name not in ("name", "description")}
_SECTION_CLASSES = {
    "mtj": MTJParameters,
    "variation": VariationParameters,
    "rng": RNGParameters,
    "crossbar": CrossbarParameters,
    "technology": TechnologyParameters,
}


def _coerce(section: str, key: str, value, annotation: str):
    """Check a JSON value against the field's annotation; ints are accepted for floats; ``X | None``
    fields (``crossbar.read_noise``: None = derived) also take null."""
    if annotation.endswith(" | None"):
        if value is None:
            return None
        annotation = annotation[: -len(" | None")]
    expected = {"float": float, "int": int, "str": str, "bool": bool}[annotation]
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ProfileError(
                f"{section}.{key} must be a finite number, got an integer too large for a float"
            ) from None
    if expected is int and isinstance(value, float) and value.is_integer():
        return int(value)
    if not isinstance(value, expected) or (expected is not bool and isinstance(value, bool)):
        kind = {"float": "a number", "int": "an integer", "str": "a string", "bool": "true or false"}[annotation]
        raise ProfileError(f"{section}.{key} must be {kind}, got {value!r}")
    if expected is float and not math.isfinite(value):
        raise ProfileError(f"{section}.{key} must be finite, got {value!r}")
    return value


def _section_from_dict(section: str, data, base):
    """``base`` with the values of ``data``; `ProfileError` listing every bad key (``errors``)."""
    cls = _SECTION_CLASSES[section]
    if not isinstance(data, dict):
        message = f"profile section {section!r} must be an object, got {type(data).__name__}"
        raise ProfileError(message, (FieldError(section, message),))
    annotations = {f.name: f.type for f in dataclasses.fields(cls)}
    errors, values = [], {}
    for key, value in data.items():
        path = f"{section}.{key}"
        if key not in annotations:
            errors.append(FieldError(path, f"unknown key {path} (known keys: {', '.join(sorted(annotations))})"))
            continue
        try:
            values[key] = _coerce(section, key, value, annotations[key])
        except ProfileError as error:
            errors.append(FieldError(path, str(error)))
    try:
        built = replace(base, **values)
    except ParameterError as error:
        found = error.errors or (FieldError("", str(error)),)
        errors += [
            FieldError(
                f"{section}.{e.path}" if e.path else section, e.message, tuple(f"{section}.{r}" for r in e.related)
            )
            for e in found
        ]
    if errors:
        raise ProfileError.of(errors)
    return built


def profile_from_dict(data: dict, base: HardwareProfile | None = None) -> HardwareProfile:
    """Build a profile from a (possibly partial) dict; missing keys come from ``base``.

    With no ``base``, ``name`` is required and missing sections take the dataclass defaults (the
    `vcma-default` values). Unknown keys anywhere, wrong types and out-of-range values raise
    `ProfileError` naming the key; its ``errors`` list every problem found, each with its
    ``section.key`` path (`device.errors.FieldError`), and its message joins theirs.
    """
    if not isinstance(data, dict):
        raise ProfileError(f"a profile must be a JSON object, got {type(data).__name__}")
    allowed = {"name", "description", *_SECTIONS}
    errors = [
        FieldError(key, f"unknown profile key {key!r} (known keys: {', '.join(sorted(allowed))})")
        for key in sorted(set(data) - allowed)
    ]
    if base is None:
        if "name" not in data:
            raise ProfileError("a profile needs a 'name'", (FieldError("name", "a profile needs a 'name'"),))
        base = HardwareProfile(name=str(data["name"]), description="")
    sections = {}
    for s in _SECTIONS:
        if s in data:
            try:
                sections[s] = _section_from_dict(s, data[s], getattr(base, s))
            except ProfileError as error:
                errors += error.errors or [FieldError(s, str(error))]
    if errors:
        raise ProfileError.of(errors, _prefix(errors))
    return replace(
        base,
        name=data.get("name", base.name),
        description=data.get("description", base.description),
        **sections,
    )


def _prefix(errors: list[FieldError]) -> str:
    """``invalid value in section 'rng': `` when the first error is a section's value check (as before)."""
    first = errors[0]
    section, _, key = first.path.partition(".")
    cls = _SECTION_CLASSES.get(section)
    if cls is not None and key and first.message.startswith(f"{cls.__name__}."):
        return f"invalid value in section {section!r}: "
    return ""


def profile_from_json(text: str, base: HardwareProfile | None = None) -> HardwareProfile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ProfileError(f"profile is not valid JSON: {error}") from None
    return profile_from_dict(data, base)


def with_overrides(profile: HardwareProfile, overrides: dict) -> HardwareProfile:
    """``profile`` with some section values replaced, e.g. ``{"rng": {"dac_bits": 8}}``."""
    if "name" in overrides:
        message = "overrides may not rename a profile; set the section values only"
        raise ProfileError(message, (FieldError("name", message),))
    return profile_from_dict(overrides, base=profile)


#: What building a profile from bad overrides raises: a `SpindiffError` (`ProfileError`) naming the
#: key, or `OverflowError` for a JSON integer too large for a float field (`_coerce`).
OVERRIDE_ERRORS = (SpindiffError, OverflowError)


def failing_override(profile: HardwareProfile, overrides: dict) -> str | None:
    """The first ``section.key`` (or ``section``) of ``overrides`` that fails on its own, else None.

    Tells a caller which override to blame when `with_overrides` refuses a set of them (the API's
    error ``field``, ``hardware.overrides.rng.dac_bits``): each is applied to ``profile`` alone, in
    order. None when every override passes alone, i.e. only their combination fails.
    """
    for section, values in overrides.items():
        try:
            with_overrides(profile, {section: {}})
        except OVERRIDE_ERRORS:  # an unknown section, or one that is not a section ("name")
            return section
        if not isinstance(values, dict):
            return section
        for key, value in values.items():
            try:
                with_overrides(profile, {section: {key: value}})
            except OVERRIDE_ERRORS:
                return f"{section}.{key}"
    return None


def override_problems(profile: HardwareProfile, overrides: dict) -> list[FieldError]:
    """Every problem of ``overrides`` on ``profile``, each at the override to show it at; [] when they apply.

    The paths are relative to the overrides (``crossbar.adc_bits``, ``rng`` for a section that is not
    an object, ``magic`` for an unknown section). A value's own check is shown at its key; a check that
    reads several fields (a sum, a coupling across sections) at the first of them that the overrides
    set, else at the first override that fails on its own (`failing_override`), else at the field it
    names first (the knob to turn).
    """
    try:
        with_overrides(profile, overrides)
        return []
    except OVERRIDE_ERRORS as error:
        found = getattr(error, "errors", ()) or (FieldError("", str(error)),)
    given = {f"{s}.{k}" for s, values in overrides.items() if isinstance(values, dict) for k in values}
    problems = []
    for e in found:
        at = next((path for path in (e.path, *e.related) if path in given), None)
        if at is None and (e.related or not e.path):
            at = failing_override(profile, overrides)
        problems.append(FieldError(at or e.path, e.message))
    return problems


def schema() -> list[dict]:
    """The profile's sections as a form draws them, from the parameter classes' metadata
    (`device.parameter_spec`): ``[{name, label, summary, groups: [{key, label, explanation,
    fields: [field, …]}]}]``, each field as `device.parameter_spec.describe` gives it."""
    sections = []
    for name, cls in _SECTION_CLASSES.items():
        fields = describe(cls)
        groups = [
            {"key": key, "label": label, "explanation": text, "fields": [f for f in fields if f["group"] == key]}
            for key, label, text in cls.GROUPS
        ]
        sections.append({"name": name, "label": cls.LABEL, "summary": cls.SUMMARY, "groups": groups})
    return sections


def overrides_json_schema() -> dict:
    """JSON Schema of a request's ``overrides``: any subset of every section's fields, nothing else."""
    return {
        "type": "object",
        "properties": {name: json_schema(cls) for name, cls in _SECTION_CLASSES.items()},
        "additionalProperties": False,
    }


# --- presets ---------------------------------------------------------------------------------------

#: vcma-noisy's read-path noise factor: 9× vcma-default's excess noise power (3 % instead of 1 % at 1 ns).
NOISY_NOISE_FACTOR = 9.0 * DEFAULT_NOISE_FACTOR

IDEAL_CROSSBAR = CrossbarParameters(
    weight_bits=0,
    input_bits=0,
    adc_bits=0,
    read_noise=0.0,
    adc_noise=0.0,
    ir_drop=False,
    cell_variation=False,
    write_model="ideal",
)

VCMA_DEFAULT = HardwareProfile(
    name="vcma-default",
    description=(
        "Published VCMA-MTJ compact-model defaults (Stochastic_MTJ_Model; docs/formulas.md), 1024 random-bit "
        "devices pulsed at 1.5 V for 30 ns: hard-axis regime (above V_c ≈ 0.56 V), each device "
        "calibrated to p = 1/2 with a 10-bit bias-field DAC. Fab spread: 0.2 % K_i0 (≈ 5 % of Δ0), "
        "5 % R_P and TMR, 0.5 kA/m stray field. Crossbars: 128×128 tiles of binary cells, 6-bit "
        "weights bit-sliced over differential column pairs, 8-bit DAC and ADC, 1 ns reads at 0.1 V whose "
        "thermal, shot and sense-amplifier noise (noise factor 8.23) give 1.0 % read noise per cell, IR drop."
    ),
)

PROFILES: dict[str, HardwareProfile] = {
    p.name: p
    for p in (
        HardwareProfile(
            name="ideal",
            description=(
                "No device physics: perfect fair bits, analog crossbar cells with exact conductances, no "
                "quantisation, noise, IR drop or variation. Reproduces software to float precision."
            ),
            variation=NO_VARIATION,
            rng=RNGParameters(source="ideal", calibration="none"),
            crossbar=IDEAL_CROSSBAR,
        ),
        VCMA_DEFAULT,
        replace(
            VCMA_DEFAULT,
            name="vcma-uncalibrated",
            description=(
                "vcma-default without the calibration loop: each device keeps the bias its stray "
                "field gives it (mean p ≈ 0.38 in the hard-axis regime). Fails the frequency test."
            ),
            rng=replace(VCMA_DEFAULT.rng, calibration="none"),
        ),
        replace(
            VCMA_DEFAULT,
            name="vcma-xor",
            description="vcma-default plus XOR whitening of cycle pairs: bias ε → 2ε², at 2 cycles per bit.",
            rng=replace(VCMA_DEFAULT.rng, calibration="calibrated_xor"),
        ),
        replace(
            VCMA_DEFAULT,
            name="vcma-lowbit",
            description="vcma-default with a coarse periphery: 4-bit ADC and 4-bit input DAC (cheaper, less accurate).",
            crossbar=replace(VCMA_DEFAULT.crossbar, adc_bits=4, input_bits=4),
        ),
        replace(
            VCMA_DEFAULT,
            name="vcma-noisy",
            description=(
                "vcma-default with an immature process: 10 % σ on R_P and TMR, 0.4 % on K_i0 (≈ 10 % of Δ0), "
                "1 kA/m stray-field spread, and 9× the read path's excess noise power (noise factor 74, for the "
                "1/f noise of a poorer barrier and a noisier sense amplifier), which makes the 1 ns read 3 % noisy."
            ),
            variation=VariationParameters(
                interfacial_anisotropy_rel=0.004, resistance_parallel_rel=0.10, tmr_rel=0.10, stray_field_abs=1000.0
            ),
            crossbar=replace(VCMA_DEFAULT.crossbar, read_noise_factor=NOISY_NOISE_FACTOR),
        ),
        replace(
            VCMA_DEFAULT,
            name="vcma-precise",
            description=(
                "vcma-default with the quieter read path that the quality study found the chip needs for "
                "FID within 10 % of software (docs/quality.md): 16 ns reads instead of 1 ns, so the "
                "read noise (thermal, shot and sense-amplifier, all white: σ ∝ 1/√t_read) falls to 0.25 % "
                "(16× the read energy and time); 10-bit ADCs (16× the energy per conversion by the F3 survey fit); 64×64 "
                "tiles, a quarter of the IR-drop parameter a ∝ n² (2× the ADC conversions). About 12× "
                "vcma-default's energy per image."
            ),
            crossbar=replace(VCMA_DEFAULT.crossbar, read_time=16e-9, adc_bits=10, tile_rows=64, tile_cols=64),
        ),
        replace(
            VCMA_DEFAULT,
            name="vcma-thermal",
            description=(
                "The same devices run in the thermal (Néel–Brown) regime: 300 ns pulses near 0.38 V "
                "with a −6 kA/m write-assist field (net ≈ −4 kA/m with the stray field), each device's "
                "pulse voltage calibrated to p = 1/2 by a 10-bit DAC over 0.38 ± 0.128 V (0.25 mV "
                "steps; ±4.7σ of the devices' V50 spread)."
            ),
            rng=replace(
                VCMA_DEFAULT.rng, pulse_voltage=0.382, voltage_dac_span=0.128, pulse_width=300e-9, bias_field=-6.0e3
            ),
        ),
    )
}


def list_profiles() -> list[HardwareProfile]:
    return list(PROFILES.values())


def get_profile(name: str) -> HardwareProfile:
    """The preset called ``name``; `ProfileError` listing the known names otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ProfileError(f"unknown profile {name!r}; known profiles: {', '.join(PROFILES)}") from None


def resolve(name: str, overrides: dict | None = None) -> HardwareProfile:
    """The preset ``name`` with ``overrides`` applied (none or ``{}``: the preset itself).

    The one resolution of a job's ``hardware`` ({profile, overrides}): the API calls it to validate
    and hash a request, the worker to run it (`worker.runner.generation_request`).
    """
    base = get_profile(name)
    return with_overrides(base, overrides) if overrides else base


def make_random_source(profile: HardwareProfile, chip_seed: int) -> MTJRandomSource:
    """Build (and calibrate) the random-bit array of ``profile`` for the chip ``chip_seed``.

    `device.rng` (Numba kernels) is imported here, not at module level: building and validating
    profiles stays free of numba (tests/service/test_health_metrics.py).
    """
    from device.rng import MTJRandomSource

    return MTJRandomSource(profile.mtj, profile.variation, profile.rng, chip_seed)
