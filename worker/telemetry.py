"""The typed generation report, as the web side sees it: `diffusion.telemetry`'s models, re-exported.

The report is assembled in diffusion/ (where the request runs) and stored by the worker; the API
schemas and the dashboard read it through this module, so app/ keeps importing only from worker/
(docs/architecture.md: app → worker → diffusion → device). The models are pure pydantic: importing them
loads neither torch nor numba.
"""

from __future__ import annotations

from diffusion.telemetry import Reproducibility, Telemetry, load
from diffusion.telemetry_quality import Quality

__all__ = ["Quality", "Reproducibility", "Telemetry", "load"]
