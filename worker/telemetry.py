"""The typed generation report, as the web side sees it: `diffusion.telemetry.report`'s models, re-exported.

The report is assembled in diffusion/ (where the request runs) and stored by the worker; the API
schemas and the dashboard read it through this module, so app/ keeps importing only from worker/
(docs/architecture.md: app → worker → diffusion → device). The models are pure pydantic: importing them
loads neither torch nor numba.
"""

from __future__ import annotations

from diffusion.telemetry.quality import Quality
from diffusion.telemetry.report import Reproducibility, Telemetry, load

__all__ = ["Quality", "Reproducibility", "Telemetry", "load"]
