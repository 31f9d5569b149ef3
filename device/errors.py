"""The one exception tree of spindiff's emulator.

Every message names the offending field or value, so a user can act on it without reading code
(docs/architecture.md, house rule 11). Higher packages (diffusion/, worker/, app/) catch `SpindiffError` and
turn it into their own error shapes; they never need to parse messages.
"""

from __future__ import annotations

from typing import NamedTuple


class FieldError(NamedTuple):
    """One problem of a parameter object or profile, at the field it belongs to.

    ``path`` is the field's name in a parameter class (``adc_bits``) and ``section.field`` in a
    profile (``crossbar.adc_bits``); ``related`` names the other fields a check across fields read
    (``demag_x`` for the demagnetising factors' sum), so that a caller can show the problem at
    whichever of them the user changed.
    """

    path: str
    message: str
    related: tuple[str, ...] = ()


class SpindiffError(Exception):
    """Base of every error raised on purpose by spindiff.

    ``errors`` lists every problem found, each at its field (`FieldError`), when the raiser checked
    several fields at once (parameter objects, profiles); the message then joins their messages.
    """

    def __init__(self, message: str = "", errors: tuple[FieldError, ...] | list[FieldError] = ()):
        super().__init__(message)
        self.errors = tuple(errors)

    @classmethod
    def of(cls, errors: list[FieldError], prefix: str = ""):
        """One exception for ``errors``: their messages joined by "; " (after ``prefix``)."""
        return cls(prefix + "; ".join(e.message for e in errors), errors)


class ParameterError(SpindiffError, ValueError):
    """A parameter object was built with a non-physical or out-of-range value."""


class ProfileError(SpindiffError, ValueError):
    """A hardware profile could not be found, parsed or validated."""


class InputError(SpindiffError, ValueError):
    """An array handed to the emulator has the wrong shape, dtype or non-finite values."""
