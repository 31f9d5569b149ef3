"""Tests of diffusion/chip/crossbar_statistical.py: the statistical model in torch, against the numpy reference.

The reference is `device.statistical.StatisticalModel` (tests/device/test_statistical.py holds it to
the exact crossbar path). Tolerances and why:
- rows form (`moments`, `matmul`) in float64: mean and variance equal the numpy model to 1e-12 of
  their max (different summation order only); noise draws have the predicted variance within 4 SE.
- convolution form, 1×1: the DAC scale of the patch centred on a pixel is the pixel's own, so the
  mean equals the rows form (W_eff and the W_ir slope) to 1e-12; the read-noise term uses R̄_n (R averaged over rows), so the
  variance equals s²·A_n + ‖x_q‖²·R̄_n to 1e-12, and the rows form's pooled within 5 %.
- convolution form, 3×3 (stride 1 and 2, padding 1): the pixel-centred DAC scale changes the
  rounding, so the mean is within 2 % relative RMS of the rows form (0.9 % when written) and the
  variance pooled within 5 % (1.000 and 0.996 when written).
- read power of `conv2d_charged`: within 0.5 % of `ProgrammedMatrix.read_energy` of the im2col
  patches' DAC planes (the quantised inputs differ in rounding only; 2e-4 when written).
- bit-serial DACs and dilated kernels take the rows form on im2col patches: equal to it to 1e-12.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from device import profiles
from device import statistical as S
from device.crossbar import dac_planes
from device.crossbar_programming import program
from device.errors import InputError
from diffusion.chip.crossbar_statistical import StatisticalCrossbar, patch_read_power, unfold_patches

torch.set_num_threads(1)

C, N = 32, 16  # 3×3 kernels: K = 288 rows (three chunks of 128), 16 outputs × 6 slices (two tile groups)
BIT_SERIAL = dict(input_mode="bit_serial", input_bits=5)


def _silu(z):
    return z / (1.0 + np.exp(-z))


def _images(seed, batch=4, size=8):
    return torch.as_tensor(_silu(np.random.default_rng(seed).standard_normal((batch, C, size, size))))


def _to_image(rows: torch.Tensor, batch: int, h: int, w: int) -> torch.Tensor:
    return rows.reshape(batch, h * w, -1).transpose(1, 2).reshape(batch, -1, h, w)


def _layer(name="vcma-default", kernel=3, stride=1, padding=1, dilation=1, seed=0, **changes):
    """(engine float64, numpy model, programmed matrix, conv spec, calibration images)."""
    spec = torch.nn.Conv2d(C, N, kernel, stride=stride, padding=padding, dilation=dilation)
    k = C * kernel * kernel
    weights = np.random.default_rng([seed, k]).standard_normal((k, N)) / np.sqrt(k)
    profile = profiles.get_profile(name)
    cb = dataclasses.replace(profile.crossbar, **changes)
    matrix = program(weights, profile.mtj, profile.variation, cb, profile.technology, seed + 1)
    images = _images(seed + 100)
    patches, _ = unfold_patches(images, spec)
    x = patches.numpy()
    matrix.calibrate_adc(x)
    if cb.output_gain_calibration:
        matrix.calibrate_output_gain(x, x @ weights, np.random.default_rng(seed))
    model = S.derive(matrix, x, seed=seed)
    return StatisticalCrossbar(model, "cpu", torch.float64), model, matrix, spec, images


@pytest.fixture(scope="module")
def layer3():
    return _layer()


# --- rows ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, changes",
    [("vcma-default", {}), ("vcma-default", BIT_SERIAL), ("vcma-lowbit", {}), ("vcma-default", {"input_bits": 0})],
    ids=["amplitude", "bit_serial", "lowbit", "no_dac"],
)
def test_rows_form_equals_the_numpy_model(name, changes):
    engine, model, _, spec, images = _layer(name, **changes)
    x = unfold_patches(_images(7), spec)[0]
    mean, variance = engine.moments(x)
    x_np = x.numpy()
    reference_mean = model.mean(x_np)
    reference_var = model.variance(*model.quantise_input(x_np))
    assert mean.dtype == torch.float64
    np.testing.assert_allclose(mean.numpy(), reference_mean, rtol=0, atol=1e-12 * np.abs(reference_mean).max())
    np.testing.assert_allclose(variance.numpy(), reference_var, rtol=0, atol=1e-12 * reference_var.max())
    assert engine.has_ir == (changes.get("input_mode") != "bit_serial")  # first-order IR in amplitude mode only


def test_rows_form_of_the_ideal_profile_is_x_at_w():
    engine, model, _, spec, _ = _layer("ideal")
    x = unfold_patches(_images(7), spec)[0]
    mean, variance = engine.moments(x)
    assert variance is None and not engine.noisy
    np.testing.assert_allclose(mean.numpy(), x.numpy() @ model.w_eff, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(engine.matmul(x).numpy(), mean.numpy())  # no generator needed


def test_rows_noise_has_the_predicted_variance(layer3):
    engine, _, _, spec, _ = layer3
    x = unfold_patches(_images(8, batch=1), spec)[0]  # 64 rows × 16 outputs
    mean, variance = engine.moments(x)
    generator = torch.Generator().manual_seed(4)
    draws = 60
    z = torch.stack([(engine.matmul(x, generator) - mean) / variance.sqrt() for _ in range(draws)])
    ratio = z.var(dim=0).mean().item()
    assert abs(ratio - 1.0) < 4 * np.sqrt(2.0 / (draws - 1) / mean.numel()), ratio
    assert abs(z.mean().item()) < 4 / np.sqrt(z.numel())


def test_square_sums_equal_the_exact_paths_dac_planes():
    for changes in ({}, BIT_SERIAL):
        engine, _, matrix, spec, _ = _layer(**changes)
        x = unfold_patches(_images(9), spec)[0]
        planes, _, _ = dac_planes(x.numpy(), matrix.cb)
        got = engine.square_sums(x)
        assert len(got) == len(planes) == matrix.cb.input_cycles
        for mine, plane in zip(got, planes):
            reference = np.square(plane).sum(axis=0)
            np.testing.assert_allclose(mine, reference, rtol=1e-12, atol=1e-12 * reference.max())


# --- convolutions -------------------------------------------------------------------------------------


def test_unfold_patches_is_im2col():
    spec = torch.nn.Conv2d(C, N, 3, stride=2, padding=1, bias=False)
    x = _images(10)
    patches, (h, w) = unfold_patches(x, spec)
    weights = spec.weight.detach().double().reshape(N, -1).T
    reference = F.conv2d(x, weights.T.reshape(N, C, 3, 3), stride=2, padding=1)
    np.testing.assert_allclose(_to_image(patches @ weights, x.shape[0], h, w).numpy(), reference.numpy(), atol=1e-12)
    assert (h, w) == (4, 4) and patches.shape == (x.shape[0] * 16, C * 9)


def _rows_moments(engine, x, spec):
    patches, (h, w) = unfold_patches(x, spec)
    mean, variance = engine.moments(patches)
    return _to_image(mean, x.shape[0], h, w), _to_image(variance, x.shape[0], h, w), patches


def test_one_by_one_conv_mean_is_the_rows_form_and_variance_the_mean_read_coefficients():
    engine, model, _, spec, _ = _layer(kernel=1, padding=0)
    x = _images(11)
    rows_mean, rows_var, patches = _rows_moments(engine, x, spec)
    mean, variance = engine.conv_moments(x, spec)
    # a 1×1 patch is its own pixel: the same DAC scale, μ and W_ir slope as the rows form
    assert model.w_ir.any()
    np.testing.assert_allclose(mean.numpy(), rows_mean.numpy(), rtol=0, atol=1e-12 * rows_mean.abs().max().item())
    # the stated approximation: Σ_j x_q,j²·R_jn → ‖x_q‖²·R̄_n
    x_q, scale = model.quantise_input(patches.numpy())
    approximated = (x_q**2).sum(axis=1, keepdims=True) * model.read_var.mean(axis=0) + scale**2 * model.adc_var
    approximated = _to_image(torch.as_tensor(approximated), x.shape[0], 8, 8)
    np.testing.assert_allclose(variance.numpy(), approximated.numpy(), rtol=0, atol=1e-12 * approximated.max().item())
    assert abs(variance.sum().item() / rows_var.sum().item() - 1.0) < 0.05
    assert not torch.allclose(variance, rows_var, rtol=1e-6)  # it is an approximation, not the rows form


@pytest.mark.parametrize("stride", [1, 2])
def test_three_by_three_conv_moments_are_close_to_the_rows_form(stride):
    engine, _, _, spec, _ = _layer(stride=stride)
    x = _images(12)
    rows_mean, rows_var, _ = _rows_moments(engine, x, spec)
    mean, variance = engine.conv_moments(x, spec)
    assert mean.shape == rows_mean.shape == (x.shape[0], N, 8 // stride, 8 // stride)
    relative_rms = (torch.linalg.norm(mean - rows_mean) / torch.linalg.norm(rows_mean)).item()
    assert relative_rms < 0.02, relative_rms
    # the difference is the DAC's rounding: well inside one noise σ
    assert (torch.linalg.norm(mean - rows_mean) / rows_var.sum().sqrt()).item() < 0.5
    ratio = variance.sum().item() / rows_var.sum().item()
    assert abs(ratio - 1.0) < 0.05, ratio


def test_conv_noise_has_the_predicted_variance(layer3):
    engine, _, _, spec, _ = layer3
    x = _images(13)
    mean, variance = engine.conv_moments(x, spec)
    generator = torch.Generator().manual_seed(5)
    draws = 50
    z = torch.stack([(engine.conv2d(x, spec, generator) - mean) / variance.sqrt() for _ in range(draws)])
    ratio = z.var(dim=0).mean().item()
    assert abs(ratio - 1.0) < 4 * np.sqrt(2.0 / (draws - 1) / mean.numel()), ratio
    assert abs(z.mean().item()) < 4 / np.sqrt(z.numel())
    # seeded: the same generator state gives the same draw
    a = engine.conv2d(x, spec, torch.Generator().manual_seed(6))
    np.testing.assert_array_equal(a.numpy(), engine.conv2d(x, spec, torch.Generator().manual_seed(6)).numpy())


@pytest.mark.parametrize(
    "changes, geometry", [(BIT_SERIAL, {}), ({}, {"dilation": 2, "padding": 2})], ids=["bit_serial", "dilated"]
)
def test_conv_falls_back_to_the_rows_form(changes, geometry):
    engine, _, matrix, spec, _ = _layer(**changes, **geometry)
    x = _images(14)
    rows_mean, rows_var, patches = _rows_moments(engine, x, spec)
    mean, variance = engine.conv_moments(x, spec)
    np.testing.assert_array_equal(mean.numpy(), rows_mean.numpy())
    np.testing.assert_array_equal(variance.numpy(), rows_var.numpy())
    row_conductance = torch.as_tensor(matrix.conductance_per_row)
    _, _, power = engine.conv_moments(x, spec, row_conductance)
    reference = matrix.read_energy(engine.square_sums(patches)) / matrix.cb.read_time
    assert power == pytest.approx(reference, rel=1e-12)


@pytest.mark.parametrize("kernel, stride, padding", [(1, 1, 0), (3, 1, 1), (3, 2, 1)])
def test_charged_read_power_is_the_ledgers_read_energy(kernel, stride, padding):
    engine, _, matrix, spec, _ = _layer(kernel=kernel, stride=stride, padding=padding)
    x = _images(15)
    row_conductance = torch.as_tensor(matrix.conductance_per_row)
    y, power = engine.conv2d_charged(x, spec, torch.Generator().manual_seed(1), row_conductance)
    patches, _ = unfold_patches(x, spec)
    reference = matrix.read_energy(engine.square_sums(patches)) / matrix.cb.read_time
    assert abs(power / reference - 1.0) < (1e-12 if kernel == 1 else 5e-3), power / reference
    assert y.shape == engine.conv_moments(x, spec)[0].shape
    # the unquantised inputs' read power, without a scale given, is as close
    unquantised = patch_read_power(x, spec, row_conductance, matrix.cb.read_voltage)
    assert abs(unquantised / reference - 1.0) < 5e-3


@pytest.mark.parametrize("kernel, stride, padding", [(1, 1, 0), (3, 1, 1), (3, 2, 1)])
def test_fused_cpu_path_is_the_torch_form(kernel, stride, padding):
    """float32 on the CPU: the Numba kernels against the torch form (``fused = False``), same model."""
    _, model, matrix, spec, _ = _layer(kernel=kernel, stride=stride, padding=padding)
    x = _images(17).float()
    conductance = torch.as_tensor(matrix.conductance_per_row, dtype=torch.float32)
    trim = (torch.linspace(0.8, 1.2, N), torch.linspace(-0.05, 0.05, N))

    def engines(m):
        fused, plain = StatisticalCrossbar(m), StatisticalCrossbar(m)
        plain.fused = False
        return fused, plain

    # without noise the read-outs and the read power agree to float32 rounding
    fused, plain = engines(dataclasses.replace(model, read_var=0 * model.read_var, adc_var=0 * model.adc_var))
    a, power_a = fused.conv2d_charged(x, spec, None, conductance, trim=trim)
    b, power_b = plain.conv2d_charged(x, spec, None, conductance, trim=trim)
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-5 * b.abs().max().item())
    assert power_a == pytest.approx(power_b, rel=1e-5)
    # with noise: the torch form's mean and variance, a seeded replay
    fused, plain = engines(model)
    mean, variance = plain.conv_moments(x, spec)
    generator = torch.Generator().manual_seed(3)
    z = torch.stack([(fused.conv2d(x, spec, generator) - mean) / variance.sqrt() for _ in range(40)])
    assert abs(z.mean().item()) < 4 / np.sqrt(z.numel()) + 1e-3  # + float32 rounding of the mean
    assert abs(z.var().item() - 1.0) < 4 * np.sqrt(2.0 / z.numel()) + 1e-3
    np.testing.assert_array_equal(
        fused.conv2d(x, spec, torch.Generator().manual_seed(9)).numpy(),
        fused.conv2d(x, spec, torch.Generator().manual_seed(9)).numpy(),
    )


def test_fused_path_is_not_used_for_gradients_or_float64(layer3):
    engine, model, _, spec, _ = layer3
    assert not engine._fused(torch.zeros(1))  # float64 engine
    engine32 = StatisticalCrossbar(model)
    x = _images(18).float().requires_grad_(True)
    assert not engine32._fused(x)
    y = engine32.conv2d(x, spec, torch.Generator().manual_seed(0))
    y.sum().backward()  # the torch form: differentiable
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize(
    "kernel, stride, padding, dilation",
    [(3, 1, 1, 1), (3, 2, 1, 1), (3, 2, 0, 1), (5, 1, 2, 1), (1, 2, 0, 1), (3, 1, 1, 2)],
)
def test_read_power_by_gemm_is_the_single_output_convolution(kernel, stride, padding, dilation):
    from diffusion.chip.crossbar_statistical import _patch_read_power_by_convolution, _patch_scale

    x = _images(19, size=9)
    spec = torch.nn.Conv2d(C, N, kernel, stride=stride, padding=padding, dilation=dilation)
    conductance = torch.as_tensor(np.random.default_rng(2).random(C * kernel * kernel))
    scale = _patch_scale(x.abs().amax(dim=1, keepdim=True), spec)
    reference = _patch_read_power_by_convolution(x, spec, conductance, 0.2, scale)
    assert patch_read_power(x, spec, conductance, 0.2, scale) == pytest.approx(reference, rel=1e-12)


def test_even_kernels_work():
    engine, _, _, spec, _ = _layer(kernel=2, stride=2, padding=0)
    x = _images(16)
    rows_mean, _, _ = _rows_moments(engine, x, spec)
    mean, _ = engine.conv_moments(x, spec)
    assert (torch.linalg.norm(mean - rows_mean) / torch.linalg.norm(rows_mean)).item() < 0.02


# --- validation ---------------------------------------------------------------------------------------


def test_noise_needs_a_generator(layer3):
    engine, _, _, spec, images = layer3
    with pytest.raises(InputError, match="generator"):
        engine.conv2d(images, spec)
    with pytest.raises(InputError, match="generator"):
        engine.matmul(unfold_patches(images, spec)[0])
    with pytest.raises(InputError, match="generator"):
        engine.conv2d_charged(images, spec, None, torch.ones(C * 9))


def test_bad_shapes_are_refused(layer3):
    engine, _, _, spec, images = layer3
    with pytest.raises(InputError, match="channels"):
        engine.conv_moments(images[:, :-1], spec)  # wrong channel count
    with pytest.raises(InputError, match="4-D"):
        engine.conv_moments(images[0], spec)
    with pytest.raises(InputError, match="groups"):
        engine.conv_moments(images, torch.nn.Conv2d(C, N, 3, padding=1, groups=2))
    with pytest.raises(InputError, match="does not match"):  # x fits the layer, the spec does not
        engine.conv_moments(images, torch.nn.Conv2d(C + 1, N, 3, padding=1))
    with pytest.raises(InputError, match="2-D"):
        engine.moments(images)
    with pytest.raises(InputError, match="features"):
        engine.moments(torch.zeros(3, C * 9 + 1, dtype=torch.float64))


def test_non_tensors_are_refused(layer3):
    engine, _, _, spec, _ = layer3
    with pytest.raises(InputError, match="torch.Tensor"):
        engine.moments(np.zeros((3, C * 9)))
    with pytest.raises(InputError, match="torch.Tensor"):
        engine.conv_moments(np.zeros((1, C, 8, 8)), spec)


def test_the_fused_workspace_keeps_only_the_current_batch_size():
    from diffusion.chip.crossbar_statistical import _Workspace

    work = _Workspace()
    a = work.get("x_q", (4, 3, 5))
    assert work.get("x_q", (4, 3, 5)) is a  # reused
    work.get("x_q", (2, 3, 5))
    assert set(work.buffers) == {("x_q", (2, 3, 5))}  # another batch size: the old buffers are gone
