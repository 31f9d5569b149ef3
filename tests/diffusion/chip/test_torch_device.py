"""Tests for diffusion/chip/torch_device.py: SPINDIFF_DEVICE → torch.device, and every refusal."""

from __future__ import annotations

import pytest
import torch

from device.errors import InputError
from diffusion.chip import torch_device as TD


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)


@pytest.fixture
def one_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)


def test_default_is_auto_and_picks_cpu_without_a_gpu(monkeypatch, no_gpu):
    monkeypatch.delenv(TD.ENV_VAR, raising=False)
    assert TD.resolve_device() == torch.device("cpu")


def test_auto_picks_cuda_when_torch_sees_one(monkeypatch, one_gpu):
    monkeypatch.setenv(TD.ENV_VAR, "auto")
    assert TD.resolve_device() == torch.device("cuda")


@pytest.mark.parametrize(
    "value, want",
    [("cpu", "cpu"), (" CPU ", "cpu"), ("", "cuda"), ("Auto", "cuda"), ("cuda", "cuda"), ("cuda:0", "cuda:0")],
)
def test_values_from_the_environment(monkeypatch, one_gpu, value, want):
    monkeypatch.setenv(TD.ENV_VAR, value)
    assert TD.resolve_device() == torch.device(want)


def test_name_argument_overrides_the_environment(monkeypatch, one_gpu):
    monkeypatch.setenv(TD.ENV_VAR, "cuda")
    assert TD.resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_names_the_variable_and_value(monkeypatch, no_gpu):
    monkeypatch.setenv(TD.ENV_VAR, "cuda")
    with pytest.raises(InputError, match=r"SPINDIFF_DEVICE='cuda' asks for CUDA, but torch sees no CUDA device"):
        TD.resolve_device()


def test_cuda_argument_without_a_gpu(no_gpu):
    with pytest.raises(InputError, match=r"device name='cuda:0' asks for CUDA"):
        TD.resolve_device("cuda:0")


@pytest.mark.parametrize("value", ["gpu", "cuda:x", "cuda:", "tpu:0", "cpu:0"])
def test_unknown_values_are_refused(monkeypatch, one_gpu, value):
    monkeypatch.setenv(TD.ENV_VAR, value)
    with pytest.raises(InputError, match=rf"SPINDIFF_DEVICE={value!r} is not a device; use one of auto, cpu, cuda"):
        TD.resolve_device()


def test_cuda_index_beyond_the_visible_gpus(monkeypatch, one_gpu):
    monkeypatch.setenv(TD.ENV_VAR, "cuda:1")
    with pytest.raises(InputError, match=r"SPINDIFF_DEVICE='cuda:1': there are only 1 CUDA device"):
        TD.resolve_device()


def test_non_string_name_is_refused():
    with pytest.raises(InputError, match="device name must be a string"):
        TD.resolve_device(0)
