"""Tests of diffusion/model/unet.py: shapes, parameter counts, chip-compatible layers only, forward order."""

from __future__ import annotations

import math
import operator

import pytest
import torch
import torch.fx
import torch.nn.functional as F
from torch import nn

from device.errors import InputError, ParameterError
from diffusion.model import unet as unet_module
from diffusion.model.unet import UNet, UNetConfig, count_parameters, iter_weight_layers, timestep_embedding
from tests.diffusion.conftest import TINY_UNET


def build(config: UNetConfig, seed: int = 0) -> UNet:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return UNet(config)


def randomise(model: nn.Module, seed: int = 1) -> nn.Module:
    """Give the zero-initialised layers weights, so outputs depend on every path."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=generator))
    return model


@pytest.mark.parametrize("config", [UNetConfig(), TINY_UNET], ids=["default", "tiny"])
def test_forward_shape_and_dtype(config):
    model = build(config).eval()
    x = torch.randn(3, 1, 28, 28)
    out = model(x, torch.tensor([0, 10, 99]))
    assert out.shape == (3, 1, 28, 28) and out.dtype == torch.float32


def conv(ci, co, k):
    return ci * co * k * k + co


def linear(i, o):
    return i * o + o


def resblock(ci, co, e):
    return 2 * ci + conv(ci, co, 3) + linear(e, co) + 2 * co + conv(co, co, 3) + (conv(ci, co, 1) if ci != co else 0)


def test_parameter_count_by_hand():
    """One level, one block: time MLP, stem, down block, two middle blocks, two up blocks, output."""
    c, e = 8, 16
    config = UNetConfig(base_channels=c, channel_mults=(1,), num_res_blocks=1, time_embed_dim=e, norm_groups=4)
    expected = (
        linear(c, e)
        + linear(e, e)
        + conv(1, c, 3)
        + resblock(c, c, e)
        + 2 * resblock(c, c, e)
        + 2 * resblock(2 * c, c, e)
        + 2 * c
        + conv(c, 1, 3)
    )
    model = build(config)
    assert count_parameters(model) == expected == sum(p.numel() for p in model.parameters())


def test_default_config_size():
    model = build(UNetConfig())
    assert count_parameters(model) == 946_081  # the measured default: (16, 32, 64), 2 blocks per level
    assert 500_000 <= count_parameters(model) <= 1_200_000
    model.stem.weight.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 946_081 - model.stem.weight.numel()


ALLOWED_MODULES = (nn.Conv2d, nn.Linear, nn.GroupNorm, nn.SiLU, nn.Dropout, nn.Identity)
ALLOWED_FUNCTIONS = {
    torch.cat,
    operator.add,
    operator.getitem,
    operator.mul,
    getattr,
    F.interpolate,
    torch.arange,
    torch.exp,
    torch.sin,
    torch.cos,
    unet_module._check_inputs,
}


@pytest.mark.parametrize("config", [UNetConfig(), TINY_UNET], ids=["default", "tiny"])
def test_only_crossbar_friendly_operations(config):
    """Every op in the traced graph is a Conv2d/Linear (plain im2col), GroupNorm, SiLU, nearest
    upsampling, concatenation, addition, or part of the sinusoidal time embedding."""
    model = build(config)
    graph = torch.fx.symbolic_trace(model).graph
    for node in graph.nodes:
        if node.op == "call_module":
            module = model.get_submodule(node.target)
            assert isinstance(module, ALLOWED_MODULES), f"{node.target}: {type(module).__name__}"
            if isinstance(module, nn.Conv2d):
                assert module.groups == 1 and module.dilation == (1, 1) and module.padding_mode == "zeros"
                assert module.kernel_size in ((1, 1), (3, 3))
        elif node.op == "call_function":
            assert node.target in ALLOWED_FUNCTIONS, node.target
            if node.target is F.interpolate:
                assert node.kwargs["mode"] == "nearest" and node.kwargs["scale_factor"] == 2.0
        elif node.op == "call_method":
            assert node.target == "to", node.target
    assert not any(isinstance(m, (nn.ConvTranspose2d, nn.BatchNorm2d, nn.MultiheadAttention)) for m in model.modules())


def test_iter_weight_layers_is_forward_order_and_complete():
    model = build(UNetConfig())
    listed = list(iter_weight_layers(model))
    called = []
    hooks = [m.register_forward_hook(lambda mod, i, o, name=name: called.append(name)) for name, m in listed]
    model(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]))
    for hook in hooks:
        hook.remove()
    assert called == [name for name, _ in listed]  # each layer once, in the listed order
    every = {name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))}
    assert set(called) == every
    assert listed[0][0] == "time_mlp.0" and listed[-1][0] == "out_conv"
    weights = sum(m.weight.numel() + m.bias.numel() for _, m in listed)
    norms = sum(p.numel() for m in model.modules() if isinstance(m, nn.GroupNorm) for p in m.parameters())
    assert weights + norms == count_parameters(model)


def test_resolution_path_is_28_14_7():
    model = build(UNetConfig())
    sizes = []
    hooks = [m.register_forward_hook(lambda mod, i, o: sizes.append(o.shape[-1])) for m in model.down]
    model(torch.randn(1, 1, 28, 28), torch.tensor([5]))
    for hook in hooks:
        hook.remove()
    assert sizes == [28, 28, 14, 14, 14, 7, 7, 7]


def test_untrained_network_predicts_zero():
    model = build(TINY_UNET)
    assert torch.equal(model(torch.randn(2, 1, 28, 28), torch.tensor([3, 4])), torch.zeros(2, 1, 28, 28))


def test_forward_is_deterministic_and_per_sample():
    model = randomise(build(TINY_UNET)).eval()
    x, t = torch.randn(4, 1, 28, 28), torch.tensor([0, 7, 50, 99])
    x_copy = x.clone()
    first, second = model(x, t), model(x, t)
    assert torch.equal(first, second)
    assert torch.equal(x, x_copy)
    alone = model(x[2:3], t[2:3])
    torch.testing.assert_close(alone, first[2:3], rtol=1e-5, atol=1e-6)  # GroupNorm: no batch coupling
    assert not torch.allclose(model(x, torch.tensor([1, 7, 50, 99]))[0], first[0])  # depends on t
    assert torch.equal(build(TINY_UNET, seed=5).stem.weight, build(TINY_UNET, seed=5).stem.weight)


def test_timestep_embedding_values():
    t = torch.tensor([0, 1, 250])
    emb = timestep_embedding(t, 8)
    assert emb.shape == (3, 8)
    freqs = [10_000 ** (-i / 4) for i in range(4)]
    for row, step in enumerate([0, 1, 250]):
        expected = [math.sin(step * f) for f in freqs] + [math.cos(step * f) for f in freqs]
        torch.testing.assert_close(emb[row], torch.tensor(expected), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("x", "t", "match"),
    [
        (torch.zeros(2, 1, 28, 28), torch.zeros(3, dtype=torch.long), r"t must have shape \(2,\)"),
        (torch.zeros(2, 1, 28, 28), torch.zeros(2), "integer"),
        (torch.zeros(2, 3, 28, 28), torch.zeros(2, dtype=torch.long), r"\(B, 1, 28, 28\)"),
        (torch.zeros(2, 28, 28), torch.zeros(2, dtype=torch.long), r"\(B, 1, 28, 28\)"),
        (torch.zeros(2, 1, 28, 28, dtype=torch.long), torch.zeros(2, dtype=torch.long), "floating-point"),
    ],
)
def test_forward_rejects_bad_input(x, t, match):
    with pytest.raises(InputError, match=match):
        build(TINY_UNET)(x, t)


def test_config_round_trip():
    config = UNetConfig(base_channels=24, channel_mults=(1, 2, 3), dropout=0.1)
    again = UNetConfig.from_dict(config.to_dict())
    assert again == config and isinstance(again.channel_mults, tuple)
    assert config.channels == (24, 48, 72)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"base_channels": 0}, "base_channels"),
        ({"base_channels": 12, "norm_groups": 8}, "does not divide 12"),
        ({"base_channels": 15, "norm_groups": 5}, "even"),
        ({"channel_mults": (1, 2, 2, 2)}, "not divisible by 2\\^\\(levels-1\\) = 8"),
        ({"channel_mults": [1, 2]}, "tuple"),
        ({"channel_mults": ()}, "tuple"),
        ({"num_res_blocks": 1.0}, "num_res_blocks"),
        ({"dropout": 1.0}, "dropout"),
        ({"image_size": True}, "image_size"),
    ],
)
def test_invalid_configs_raise(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        UNetConfig(**kwargs)


def test_from_dict_names_unknown_keys():
    with pytest.raises(ParameterError, match="attention"):
        UNetConfig.from_dict({**UNetConfig().to_dict(), "attention": True})
