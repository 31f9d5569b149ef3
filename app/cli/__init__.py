"""The ``spindiff`` command line: one parser, one module per group of commands.

=====================  =====================================================================
module                 commands
=====================  =====================================================================
`app.cli.emulator`     ``profiles``, ``rng-test``, ``cost``, ``physics-check`` (device/ alone)
`app.cli.bench`        ``bench rng``, ``bench crossbar``, ``bench sampling``
`app.cli.train`        ``train``, ``export-model``
`app.cli.generate`     ``generate``, ``eval``, ``telemetry``
`app.cli.sweep`        ``sweep``
`app.cli.service`      ``serve``, ``api``, ``worker``
`app.cli.output`       shared: JSON on stdout, ``spindiff: error: …`` and exit code 2
=====================  =====================================================================

The CLI lives in app/ with the service, so none of these modules imports torch or numba at module
level: every command imports diffusion/ and device/ inside its own function (docs/architecture.md:
the API process never loads them; at module level only the plain paths of diffusion/shipped.py).
`ADD_PARSERS` lists every command in the order ``spindiff --help`` shows them.
"""

from __future__ import annotations

import argparse

from app.cli import bench, emulator, generate, service, sweep, train
from app.cli.output import run_command

#: Each adds one subcommand (parser, options, ``func``) to the subparsers; in ``--help`` order.
ADD_PARSERS = (
    emulator.add_profiles,
    emulator.add_rng_test,
    bench.add_bench,
    emulator.add_cost,
    train.add_train,
    train.add_export_model,
    generate.add_telemetry,
    generate.add_generate,
    generate.add_eval,
    sweep.add_sweep,
    service.add_serve,
    service.add_api,
    service.add_worker,
    emulator.add_physics_check,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spindiff", description="Diffusion on an emulated VCMA-MTJ chip.")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in ADD_PARSERS:
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """The ``spindiff`` entry point: parse ``argv`` (default: the process's arguments), run the command."""
    return run_command(build_parser().parse_args(argv))
