"""Training the ε-predictor on Fashion-MNIST, resumable bit for bit.

Objective: the "simple" DDPM loss (Ho et al. 2020, eq. 14): t ~ U{0 … T−1}, ε ~ N(0, I),
x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε, loss = ‖ε − ε̂(x_t, t)‖² averaged over pixels. AdamW with a linear
warm-up to a constant learning rate (as in DDPM), gradient-norm clipping, and an exponential moving
average of the weights whose decay ramps as min(ema_decay, (1+n)/(10+n)) after n updates. Optional
random horizontal flips (Fashion-MNIST garments are left-right symmetric enough).

Exact resume: everything a step depends on is either a pure function of (config, step) — learning
rate, EMA decay — or stored in the checkpoint: weights, EMA weights, optimizer state, the training
generator (t, ε and flips are drawn from it), torch's global generator (dropout), numpy's and
Python's global generators, and the data order (epoch e uses the permutation of
``np.random.default_rng([seed, e])``; the checkpoint stores epoch and position). So N steps in one
call and N steps in several calls on the same ``out_dir`` give bit-identical parameters (on the same
machine and thread count). SIGINT and SIGTERM finish the current step, save and return; the run
continues when `train` is called again. The global RNG states and torch's thread count are restored
when `train` returns.
"""

from __future__ import annotations

import copy
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from device.errors import InputError, ParameterError
from diffusion.model import checkpoints
from diffusion.model.data import load_split, to_model_range
from diffusion.model.hardware_aware import (
    NOISE_FILE,
    HardwareAwareConfig,
    load_layer_noise,
    make_hardware_aware,
    measure_layer_noise,
    save_layer_noise,
)
from diffusion.model.schedule import ScheduleConfig, q_sample
from diffusion.model.unet import UNet, UNetConfig

#: Config keys that may change when a run is resumed: they do not change the trajectory (constant
#: learning rate after warm-up). A different thread count can change float rounding, not the maths.
RESUMABLE_KEYS = ("total_steps", "checkpoint_every", "log_every", "num_threads")


@dataclass(frozen=True)
class TrainConfig:
    """One training run; stored as ``config.json`` in the run directory.

    Attributes:
        unet, schedule: the network and the noise schedule.
        batch_size: images per step. lr: peak AdamW learning rate. warmup_steps: linear warm-up length.
        total_steps: the run's length (can be raised on resume). weight_decay: AdamW decoupled decay.
        ema_decay: EMA decay of the weights (the exported model is the EMA).
        grad_clip: max global gradient norm (0 disables clipping). random_flip: horizontal flips.
        checkpoint_every: steps between checkpoints. log_every: steps per ``loss.jsonl`` record (mean loss).
        seed: seeds the init, the training generator and the data order. num_threads: torch CPU threads.
        init_model: fine-tuning: the exported model directory whose weights the run starts from (its
            U-Net config must be ``unet``); None trains from the random init.
        init_sha256: that model's weights SHA-256 (checked when the run starts; filled in by
            `fine_tune_config`).
        hardware_aware: train with the chip's errors in the forward pass
            (`diffusion.model.hardware_aware`); needs ``init_model`` (the chip is programmed with it).
    """

    unet: UNetConfig = field(default_factory=UNetConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    batch_size: int = 64
    lr: float = 2e-4
    warmup_steps: int = 1000
    total_steps: int = 30_000
    weight_decay: float = 0.0
    ema_decay: float = 0.999
    grad_clip: float = 1.0
    random_flip: bool = True
    checkpoint_every: int = 500
    log_every: int = 50
    seed: int = 0
    num_threads: int = 2
    init_model: str | None = None
    init_sha256: str | None = None
    hardware_aware: HardwareAwareConfig | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.unet, UNetConfig) or not isinstance(self.schedule, ScheduleConfig):
            raise ParameterError("TrainConfig.unet must be a UNetConfig and .schedule a ScheduleConfig")
        if self.hardware_aware is not None and not isinstance(self.hardware_aware, HardwareAwareConfig):
            raise ParameterError("TrainConfig.hardware_aware must be a HardwareAwareConfig or None")
        if self.hardware_aware is not None and self.init_model is None:
            raise ParameterError("hardware-aware training fine-tunes a trained model: set TrainConfig.init_model")
        for name in ("init_model", "init_sha256"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise ParameterError(f"TrainConfig.{name} must be a non-empty string or None, got {value!r}")
        for name in ("batch_size", "total_steps", "checkpoint_every", "log_every", "num_threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"TrainConfig.{name} must be a positive integer, got {value!r}")
        for name in ("warmup_steps", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(f"TrainConfig.{name} must be a non-negative integer, got {value!r}")
        if not self.lr > 0:
            raise ParameterError(f"TrainConfig.lr must be > 0, got {self.lr!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            raise ParameterError(f"TrainConfig.ema_decay must be in [0, 1), got {self.ema_decay!r}")
        if not self.weight_decay >= 0 or not self.grad_clip >= 0:
            raise ParameterError(
                f"TrainConfig.weight_decay and grad_clip must be >= 0, got {self.weight_decay!r}, {self.grad_clip!r}"
            )
        if not isinstance(self.random_flip, bool):
            raise ParameterError(f"TrainConfig.random_flip must be a bool, got {self.random_flip!r}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["unet"] = self.unet.to_dict()
        data["schedule"] = self.schedule.to_dict()
        data["hardware_aware"] = None if self.hardware_aware is None else self.hardware_aware.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        """Inverse of `to_dict`; unknown keys raise ParameterError naming them."""
        unknown = sorted(set(data) - {f.name for f in fields(cls)})
        if unknown:
            raise ParameterError(f"TrainConfig has no field(s) {unknown}")
        data = dict(data)
        data["unet"] = UNetConfig.from_dict(data.get("unet", {}))
        data["schedule"] = ScheduleConfig.from_dict(data.get("schedule", {}))
        if data.get("hardware_aware") is not None:
            data["hardware_aware"] = HardwareAwareConfig.from_dict(data["hardware_aware"])
        return cls(**data)


#: Named configs for ``spindiff train --config``. "default" is the shipped model (measured choice,
#: see the UNetConfig defaults); "small" is a 4× cheaper model for quick experiments.
PRESETS: dict[str, TrainConfig] = {
    "default": TrainConfig(),
    "small": TrainConfig(
        unet=UNetConfig(base_channels=16, channel_mults=(1, 2, 2), num_res_blocks=1, time_embed_dim=64),
        total_steps=5_000,
        warmup_steps=250,
    ),
}


def preset(name: str) -> TrainConfig:
    if name not in PRESETS:
        raise ParameterError(f"unknown training config {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


#: Fine-tuning defaults (`fine_tune_config`): a quarter of the training learning rate after a short
#: warm-up, a few thousand steps (Rasch et al. 2023 fine-tune for a fraction of the original run).
FINE_TUNE = {"lr": 5e-5, "warmup_steps": 100, "total_steps": 3000, "checkpoint_every": 100}


def fine_tune_config(init_model: str | Path, hardware_aware: HardwareAwareConfig | None, **changes) -> TrainConfig:
    """The config of a run that fine-tunes the exported model in ``init_model`` (`FINE_TUNE` defaults).

    The U-Net and schedule are the model's own (its ``model.json``); ``changes`` override any other
    field. Raises CheckpointError when the directory holds no loadable model.
    """
    _, unet, schedule, info = checkpoints.load_model(init_model)
    values = {**FINE_TUNE, **{k: v for k, v in changes.items() if v is not None}}
    return TrainConfig(
        unet=unet,
        schedule=schedule,
        init_model=str(Path(init_model).resolve()),
        init_sha256=info["sha256"],
        hardware_aware=hardware_aware,
        **values,
    )


def config_differences(a: dict, b: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two (nested) config dicts, sorted."""
    keys = sorted(set(a) | set(b))
    out: list[str] = []
    for key in keys:
        name = f"{prefix}{key}"
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += config_differences(va, vb, name + ".")
        elif va != vb:
            out.append(name)
    return out


def run_config(out_dir: str | Path) -> TrainConfig | None:
    """The config a run directory was started with, or None when it has no checkpoint."""
    if not checkpoints.has_checkpoint(out_dir):
        return None
    stored = checkpoints.read_config(out_dir)
    if stored is None:
        raise checkpoints.CheckpointError(f"{out_dir} has a checkpoint but no {checkpoints.CONFIG_FILE}")
    return TrainConfig.from_dict(stored)


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate of update number ``step`` (0-based): linear warm-up, then constant."""
    if config.warmup_steps == 0:
        return config.lr
    return config.lr * min(1.0, (step + 1) / config.warmup_steps)


def ema_decay_at(updates: int, config: TrainConfig) -> float:
    """EMA decay after ``updates`` optimizer steps: min(ema_decay, (1 + n)/(10 + n))."""
    return min(config.ema_decay, (1.0 + updates) / (10.0 + updates))


class EpochSampler:
    """Batches of indices: each epoch a fresh permutation of ``default_rng([seed, epoch])``.

    A final partial batch is skipped (the next epoch starts); the state is (epoch, position).
    """

    def __init__(self, n: int, batch_size: int, seed: int, epoch: int = 0, position: int = 0) -> None:
        if n < batch_size:
            raise InputError(f"the dataset has {n} images, fewer than batch_size {batch_size}")
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.epoch, self.position = epoch, position
        self._perm_epoch, self._perm = -1, np.empty(0, dtype=np.int64)

    def permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._perm_epoch:
            self._perm = np.random.default_rng([self.seed, epoch]).permutation(self.n)
            self._perm_epoch = epoch
        return self._perm

    def next(self) -> np.ndarray:
        if self.position + self.batch_size > self.n:
            self.epoch, self.position = self.epoch + 1, 0
        batch = self.permutation(self.epoch)[self.position : self.position + self.batch_size]
        self.position += self.batch_size
        return batch


@dataclass(frozen=True)
class TrainResult:
    """What `train` did. ``interrupted`` names the signal that stopped it, else None."""

    out_dir: str
    step: int
    total_steps: int
    steps_this_call: int
    seconds_this_call: float
    wall_seconds: float
    last_loss: float | None
    interrupted: str | None


def train(
    config: TrainConfig,
    data_dir: str | Path | None,
    out_dir: str | Path,
    max_steps: int | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or resume training) into ``out_dir`` until ``config.total_steps`` or ``max_steps`` more steps.

    Args:
        config: the run's config. If ``out_dir`` holds a checkpoint it must equal the stored config
            except for `RESUMABLE_KEYS`; otherwise ConfigMismatchError names the differing keys.
        data_dir: Fashion-MNIST directory (None: ``$SPINDIFF_DATA_DIR`` or Debian's location).
        max_steps: at most this many steps in this call (None: run to total_steps).
        progress: show a tqdm bar (loss, steps/s) on stderr.
        on_step: called as on_step(step, loss) after every step (monitoring, tests).
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < 0):
        raise InputError(f"max_steps must be a non-negative integer or None, got {max_steps!r}")
    out = Path(out_dir)
    stored = run_config(out) if out.exists() else None
    if stored is not None:
        differing = [k for k in config_differences(stored.to_dict(), config.to_dict()) if k not in RESUMABLE_KEYS]
        if differing:
            raise checkpoints.ConfigMismatchError(
                f"{out} was trained with a different config; differing keys: {', '.join(differing)}. "
                "Resume with the same settings or choose another --out directory"
            )
    images, _ = load_split("train", data_dir)
    out.mkdir(parents=True, exist_ok=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(config.num_threads)
    try:
        with _global_rng_scope():
            return _run(
                config, images, out, resume=stored is not None, max_steps=max_steps, progress=progress, on_step=on_step
            )
    finally:
        torch.set_num_threads(threads)


def _run(config, images, out, *, resume, max_steps, progress, on_step) -> TrainResult:
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    model = UNet(config.unet)
    if config.init_model is not None and not resume:
        _load_init(model, config)
    if config.hardware_aware is not None:
        make_hardware_aware(model, _hardware_noise(model, config, out, resume), config.hardware_aware.noise_scale)
    ema = copy.deepcopy(model).requires_grad_(False).eval()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    generator = torch.Generator().manual_seed(config.seed + 1)
    sampler = EpochSampler(len(images), config.batch_size, config.seed)
    step, wall_before, window = 0, 0.0, []
    if resume:
        model_state, ema_state, state = checkpoints.load_checkpoint(out)
        if state["dataset_size"] != len(images):
            raise InputError(
                f"{out} was trained on {state['dataset_size']} images but this dataset has {len(images)}; "
                "use the same data directory to resume"
            )
        model.load_state_dict(model_state)
        ema.load_state_dict(ema_state)
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_states(state["rng"], generator)
        step, wall_before, window = int(state["step"]), float(state["wall_seconds"]), list(state["loss_window"])
        sampler.epoch, sampler.position = int(state["epoch"]), int(state["position"])
        checkpoints.truncate_loss(out, step)
    else:
        (out / checkpoints.LOSS_FILE).unlink(missing_ok=True)  # a run killed before its first checkpoint
    checkpoints.write_config(out, config.to_dict())

    alphas_cumprod = torch.as_tensor(config.schedule.alphas_cumprod(), dtype=torch.float64)
    target = config.total_steps if max_steps is None else min(config.total_steps, step + max_steps)
    start_step, started = step, time.perf_counter()

    def wall() -> float:
        return wall_before + time.perf_counter() - started

    def save() -> None:
        state = {
            "step": step,
            "epoch": sampler.epoch,
            "position": sampler.position,
            "dataset_size": len(images),
            "wall_seconds": wall(),
            "loss_window": list(window),
            "optimizer": optimizer.state_dict(),
            "rng": _get_rng_states(generator),
        }
        checkpoints.save_checkpoint(out, model.state_dict(), ema.state_dict(), state)

    stop = _StopRequest()
    last_loss, shown = None, None
    bar = tqdm(
        total=config.total_steps,
        initial=step,
        disable=not progress,
        file=sys.stderr,
        unit="step",
        dynamic_ncols=True,
        desc=f"train {out.name}",
    )
    model.train()
    with stop.installed(), bar:
        while step < target and stop.signal is None:
            x0 = to_model_range(images[sampler.next()])
            lr = lr_at(step, config)
            loss = _train_step(model, optimizer, x0, alphas_cumprod, generator, config, lr)
            step += 1
            _update_ema(ema, model, ema_decay_at(step, config))
            window.append(loss)
            last_loss = loss
            if step % config.log_every == 0:
                record = {"step": step, "loss": sum(window) / len(window), "lr": lr, "wall_s": round(wall(), 3)}
                checkpoints.append_loss(out, record)
                window = []
            shown = loss if shown is None else 0.9 * shown + 0.1 * loss
            bar.set_postfix(loss=f"{shown:.4f}", refresh=False)
            bar.update(1)
            if on_step is not None:
                on_step(step, loss)
            if step % config.checkpoint_every == 0 and step < target and stop.signal is None:
                save()
        if step > start_step or not resume:
            save()
    if stop.signal is not None:
        print(
            f"[train] {stop.signal} at step {step}: checkpoint saved in {out}; run the same command to resume",
            file=sys.stderr,
        )
    return TrainResult(
        str(out),
        step,
        config.total_steps,
        step - start_step,
        time.perf_counter() - started,
        wall(),
        last_loss,
        stop.signal,
    )


def _load_init(model: UNet, config: TrainConfig) -> None:
    """Copy the weights of ``config.init_model`` into ``model``; CheckpointError when they are not the ones named."""
    init, unet, _, info = checkpoints.load_model(config.init_model)
    if unet != config.unet:
        raise checkpoints.ConfigMismatchError(f"{config.init_model} is a {unet} but the run's U-Net is {config.unet}")
    if config.init_sha256 is not None and info["sha256"] != config.init_sha256:
        raise checkpoints.CheckpointError(
            f"{config.init_model} holds weights {info['sha256'][:12]}…, not the {config.init_sha256[:12]}… this run starts from"
        )
    model.load_state_dict(init.state_dict())


def _hardware_noise(model: UNet, config: TrainConfig, out: Path, resume: bool):
    """The run's measured chip statistics: read from ``out`` or, on a fresh run, measured on ``model`` and saved."""
    path = out / NOISE_FILE
    if path.is_file():
        return load_layer_noise(path, config.hardware_aware)
    if resume:
        raise checkpoints.CheckpointError(
            f"{out} is a hardware-aware run without its {NOISE_FILE}; it cannot resume exactly"
        )
    print(
        f"[train] programming a {config.hardware_aware.profile} chip (seed {config.hardware_aware.chip_seed}) "
        "to measure its errors",
        file=sys.stderr,
    )
    noise = measure_layer_noise(model, config.schedule.alphas_cumprod(), config.hardware_aware)
    save_layer_noise(path, noise, config.hardware_aware)
    return noise


def _train_step(model, optimizer, x0, alphas_cumprod, generator, config, lr) -> float:
    """One AdamW step on the ε-prediction MSE; returns the loss. Draws flips, t, ε from ``generator``."""
    batch = x0.shape[0]
    if config.random_flip:
        flip = torch.rand(batch, generator=generator) < 0.5
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
    t = torch.randint(0, config.schedule.num_train_timesteps, (batch,), generator=generator)
    noise = torch.randn(x0.shape, generator=generator)
    x_t = q_sample(x0, t, noise, alphas_cumprod)
    loss = F.mse_loss(model(x_t, t), noise)
    for group in optimizer.param_groups:
        group["lr"] = lr
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return float(loss.detach())


@torch.no_grad()
def _update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters(), strict=True):
        e.lerp_(p.detach(), 1.0 - decay)
    for e, b in zip(ema.buffers(), model.buffers(), strict=True):
        e.copy_(b)


def _get_rng_states(generator: torch.Generator) -> dict:
    np_state = np.random.get_state(legacy=False)
    py_version, py_state, py_gauss = random.getstate()
    return {
        "train": generator.get_state(),
        "torch_global": torch.get_rng_state(),
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": [py_version, list(py_state), py_gauss],
    }


def _set_rng_states(states: dict, generator: torch.Generator) -> None:
    generator.set_state(states["train"])
    torch.set_rng_state(states["torch_global"])
    n = states["numpy"]
    np.random.set_state(
        {
            "bit_generator": n["bit_generator"],
            "state": {"key": n["key"].numpy().astype(np.uint32), "pos": n["pos"]},
            "has_gauss": n["has_gauss"],
            "gauss": n["gauss"],
        }
    )
    version, state, gauss = states["python"]
    random.setstate((version, tuple(state), gauss))


@contextmanager
def _global_rng_scope():
    """Restore torch's, numpy's and Python's global RNG states on exit (train() has no side effects on them)."""
    np_state, py_state = np.random.get_state(), random.getstate()
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            np.random.set_state(np_state)
            random.setstate(py_state)


class _StopRequest:
    """SIGINT/SIGTERM handler that only records the signal; the loop saves and returns after the step."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal: str | None = None

    def _handle(self, signum, frame) -> None:
        if self.signal is None:
            self.signal = signal.Signals(signum).name
            print(f"\n[train] {self.signal} received: finishing this step and saving a checkpoint", file=sys.stderr)

    @contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self  # signals can only be handled in the main thread; run without the handler
            return
        previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        try:
            yield self
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    """``dataclasses.replace`` that ignores None values (CLI flags that were not given)."""
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
