"""The tiny model the CLI tests generate, evaluate and benchmark with (random weights, exported like a shipped one)."""

import json

import pytest

TINY_UNET = dict(base_channels=8, channel_mults=(1, 2), num_res_blocks=1, time_embed_dim=16, norm_groups=4)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import torch

    from diffusion.model import checkpoints
    from diffusion.model.schedule import ScheduleConfig
    from diffusion.model.unet import UNet, UNetConfig

    root = tmp_path_factory.mktemp("model")
    tiny = UNetConfig(**TINY_UNET)
    torch.manual_seed(0)
    model = UNet(tiny)
    data = checkpoints._weights_bytes(
        {k: v.contiguous() for k, v in model.state_dict().items()}, {"format": checkpoints.WEIGHTS_FORMAT}
    )
    (root / checkpoints.MODEL_FILE).write_bytes(data)
    info = {
        "format": checkpoints.MODEL_FORMAT,
        "unet": tiny.to_dict(),
        "schedule": ScheduleConfig().to_dict(),
        "steps": 0,
        "wall_seconds": 0.0,
        "parameters": sum(p.numel() for p in model.parameters()),
        "sha256": checkpoints.sha256_file(root / checkpoints.MODEL_FILE),
        "weights_file": checkpoints.MODEL_FILE,
    }
    (root / checkpoints.MODEL_INFO_FILE).write_text(json.dumps(info))
    return root
