"""The typed telemetry of one generation, pure pydantic: the report every job returns.

`report` (`Telemetry`, its assembly from a generation's parts, schema versions and the upgrade of
stored reports), `energy` (the chip's cost report and the GPU/TPU baseline) and `quality` (every
FID and KID with its N and an interval). No torch, numba or numpy at import: the API and the
dashboard read these models (through worker/telemetry.py).
"""
