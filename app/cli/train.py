"""``spindiff train`` and ``spindiff export-model``: training the U-Net and shipping its weights.

The command functions import diffusion/ lazily (this module imports nothing of it, nor torch).
Each prints one JSON object on stdout; the progress bar and notes go to stderr.
"""

from __future__ import annotations

import sys

from app.cli.output import print_json


def cmd_train(args) -> int:
    from diffusion.model import train as training

    stored = training.run_config(args.out)
    if stored is not None:
        print(f"[train] resuming {args.out} from its checkpoint", file=sys.stderr)
    # a resumed run keeps its own config unless --config or --hardware-aware names one (which must then match it)
    if args.hardware_aware is not None or args.init is not None:
        base = _fine_tune_base(args, stored)
    elif args.config is not None:
        base = training.preset(args.config)
    else:
        base = stored if stored is not None else training.preset("default")
    config = training.with_overrides(
        base,
        total_steps=args.steps,
        batch_size=args.batch_size,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        num_threads=args.threads,
    )
    result = training.train(config, args.data_dir, args.out, max_steps=args.max_steps, progress=not args.no_progress)
    print_json(
        {
            "out": result.out_dir,
            "step": result.step,
            "total_steps": result.total_steps,
            "finished": result.step >= result.total_steps,
            "interrupted": result.interrupted,
            "steps_this_run": result.steps_this_call,
            "seconds_this_run": round(result.seconds_this_call, 3),
            "seconds_per_step": round(result.seconds_this_call / result.steps_this_call, 4)
            if result.steps_this_call
            else None,
            "wall_seconds": round(result.wall_seconds, 3),
            "last_loss": result.last_loss,
        }
    )
    return 0


def _fine_tune_base(args, stored):
    """The config of ``--hardware-aware``/``--init``: a fine-tuning of the named (default: the shipped) model."""
    from device.errors import ParameterError
    from device.profiles import get_profile
    from diffusion.model import train as training
    from diffusion.model.hardware_aware import HardwareAwareConfig
    from diffusion.shipped import MODEL_DIR

    if args.config is not None:
        raise ParameterError("--config names a training from scratch; --hardware-aware and --init fine-tune a model")
    hardware = None
    if args.hardware_aware is not None:
        get_profile(args.hardware_aware)  # an unknown name fails here, naming the profiles there are
        hardware = HardwareAwareConfig(
            profile=args.hardware_aware, chip_seed=args.chip_seed, noise_scale=args.noise_scale
        )
    init = (
        args.init
        if args.init is not None
        else (stored.init_model if stored is not None and stored.init_model else MODEL_DIR)
    )
    return training.fine_tune_config(init, hardware)


def add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the U-Net on Fashion-MNIST (resumes automatically when --out holds a checkpoint)",
        description="Train the ε-predictor. Ctrl-C or SIGTERM saves a checkpoint and exits; run the same "
        "command again to continue bit-identically. Raising --steps on a finished run extends it.",
    )
    p.add_argument("--out", required=True, help="run directory (checkpoints, config.json, loss.jsonl)")
    p.add_argument(
        "--data-dir",
        help="directory of the four gzipped IDX files (default: $SPINDIFF_DATA_DIR, "
        "then /usr/share/datasets/fashion-mnist)",
    )
    p.add_argument("--steps", type=int, help="total training steps of the run (default: the config's)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--checkpoint-every", type=int, help="steps between checkpoints")
    p.add_argument("--config", choices=["small", "default"], help="named config (default: 'default', or the run's own)")
    p.add_argument("--seed", type=int)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: the config's; may change on resume)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in this invocation")
    p.add_argument(
        "--hardware-aware",
        metavar="PROFILE",
        help="fine-tune with this hardware profile's chip errors in the "
        "forward pass (diffusion/model/hardware_aware.py), from --init",
    )
    p.add_argument(
        "--init",
        metavar="MODEL_DIR",
        help="fine-tune this exported model (default with --hardware-aware: the shipped model)",
    )
    p.add_argument("--chip-seed", type=int, default=0, help="with --hardware-aware: the chip whose errors are measured")
    p.add_argument(
        "--noise-scale",
        type=float,
        default=1.0,
        help="with --hardware-aware: multiplies the injected errors' standard deviations (1: the chip's own)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_train)


def cmd_export_model(args) -> int:
    from diffusion.model.checkpoints import export_model, load_model

    dest = export_model(args.run, args.dest)
    _, _, _, info = load_model(dest)  # verifies the hash and that the weights fit the config
    print_json(
        {"dest": str(dest), **{k: info[k] for k in ("steps", "parameters", "sha256", "wall_seconds", "final_loss")}}
    )
    return 0


def add_export_model(sub) -> None:
    p = sub.add_parser("export-model", help="write a run's EMA weights as a shippable model (safetensors + model.json)")
    p.add_argument("--run", required=True, help="training run directory")
    p.add_argument("--dest", required=True, help="model directory to write")
    p.set_defaults(func=cmd_export_model)
