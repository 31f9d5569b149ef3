"""The one exception tree of spindiff's emulator.

Every message names the offending field or value, so a user can act on it without reading code
(docs/architecture.md, house rule 11). Higher packages (diffusion/, worker/, app/) catch `SpindiffError` and
turn it into their own error shapes; they never need to parse messages.
"""

from __future__ import annotations


class SpindiffError(Exception):
    """Base of every error raised on purpose by spindiff."""


class ParameterError(SpindiffError, ValueError):
    """A parameter object was built with a non-physical or out-of-range value."""


class ProfileError(SpindiffError, ValueError):
    """A hardware profile could not be found, parsed or validated."""


class InputError(SpindiffError, ValueError):
    """An array handed to the emulator has the wrong shape, dtype or non-finite values."""
