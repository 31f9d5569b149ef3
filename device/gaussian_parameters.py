"""How bits become N(0, 1) samples: the `GaussianMethod` parameters of `device.gaussian`.

Kept apart from the kernels (numba) and the inverse-CDF table (scipy) so that `device.rng_parameters`
and with it `device.profiles` validate a profile's Gaussian method without either; `device.gaussian`
re-exports every name. The methods and their costs are described there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from device.errors import ParameterError

METHODS = ("inverse_cdf", "clt")
INVERSE_CDF_BITS = (4, 20)  # allowed b: the table has 2**b float64 entries (8 MiB at b = 20)
CLT_BITS = (4, 4096)


@dataclass(frozen=True)
class GaussianMethod:
    """How bits become N(0, 1) samples.

    Attributes:
        name: ``"inverse_cdf"`` or ``"clt"``.
        bits_per_sample: b for inverse-CDF (4–20, default 16), K for CLT (4–4096).
    """

    name: str = "inverse_cdf"
    bits_per_sample: int = 16

    def __post_init__(self) -> None:
        if self.name not in METHODS:
            raise ParameterError(f"GaussianMethod.name must be one of {METHODS}, got {self.name!r}")
        low, high = INVERSE_CDF_BITS if self.name == "inverse_cdf" else CLT_BITS
        b = self.bits_per_sample
        if not isinstance(b, int) or isinstance(b, bool) or not low <= b <= high:
            raise ParameterError(
                f"GaussianMethod.bits_per_sample for {self.name} must be an integer in [{low}, {high}], got {b!r}"
            )

    def words_needed(self, n_samples: int) -> int:
        """64-bit words of the stream that ``n_samples`` samples consume."""
        return math.ceil(n_samples * self.bits_per_sample / 64)
