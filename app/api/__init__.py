"""The HTTP API of the generation service (FastAPI). Never imports torch or numba."""
