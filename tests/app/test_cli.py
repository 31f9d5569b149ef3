"""Tests of app/cli/__init__.py and app/cli/output.py: one parser with every command, and what they share.

The commands themselves: tests/app/test_cli_emulator.py, test_cli_bench.py, test_cli_generate.py,
test_cli_sweep.py;
``train`` and ``export-model`` in tests/diffusion/model/test_train.py and test_hardware_aware.py; the
service commands in tests/service/.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.cli import output
from device.errors import ParameterError

#: Every command, in the order ``spindiff --help`` lists them.
COMMANDS = [
    "profiles",
    "rng-test",
    "bench",
    "cost",
    "train",
    "export-model",
    "telemetry",
    "generate",
    "eval",
    "sweep",
    "serve",
    "api",
    "worker",
    "physics-check",
]
GROUPS = ["bench", "emulator", "generate", "output", "service", "sweep", "train"]


def subcommands():
    (action,) = [a for a in cli.build_parser()._actions if a.dest == "command"]
    return action.choices


def test_every_command_is_registered_once_in_help_order():
    assert list(subcommands()) == COMMANDS
    assert len(cli.ADD_PARSERS) == len(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_and_a_function(command, capsys):
    parser = subcommands()[command]
    assert callable(parser.get_default("func"))
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith(f"usage: spindiff {command} ")


def test_cli_modules_import_neither_torch_nor_numba():
    # the API process imports app/; it must stay light (docs/architecture.md): at module level the CLI
    # may import nothing of diffusion/ but the plain paths of diffusion/shipped.py and the sampler
    # registry (diffusion/generation/sampler_names.py, standard library only), and nothing of device/
    code = (
        "import sys, importlib, json, app.cli\n"
        f"for group in {GROUPS!r}:\n"
        "    importlib.import_module('app.cli.' + group)\n"
        "app.cli.build_parser()\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numba', 'scipy', 'device', 'diffusion'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [
        "diffusion",
        "diffusion.generation",
        "diffusion.generation.sampler_names",
        "diffusion.shipped",
    ]


def test_console_script_is_installed():
    script = Path(sys.executable).with_name("spindiff")  # pyproject's [project.scripts], beside the venv's python
    out = subprocess.run([str(script), "profiles"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "vcma-default" in out.stdout, out.stderr
    out = subprocess.run([sys.executable, "-m", "app.cli", "profiles"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "vcma-default" in out.stdout, out.stderr  # what the service tests start


@pytest.mark.parametrize(
    "argv", [["bench"], ["bench", "nope"], ["profiles", "frobnicate"], ["train"], ["generate"], ["nope"], []]
)
def test_argument_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2 and "spindiff" in capsys.readouterr().err


def test_print_json_writes_one_object_and_a_newline(capsys):
    output.print_json({"b": 1, "a": [1.5, None, "é"]})
    out = capsys.readouterr().out
    assert out == '{\n  "b": 1,\n  "a": [\n    1.5,\n    null,\n    "\\u00e9"\n  ]\n}\n'  # keys in insertion order


def test_fail_prints_one_line_on_stderr_and_returns_2(capsys):
    assert output.fail("no such thing") == output.EXIT_ERROR == 2
    assert capsys.readouterr() == ("", "spindiff: error: no such thing\n")


class Args:
    def __init__(self, func):
        self.func = func


def test_run_command_turns_a_spindiff_error_into_exit_2_and_passes_codes_through(capsys):
    def refuse(args):
        raise ParameterError("--knob must be positive, got -1")

    assert output.run_command(Args(refuse)) == 2
    assert capsys.readouterr().err == "spindiff: error: --knob must be positive, got -1\n"
    assert output.run_command(Args(lambda args: 0)) == 0 and output.run_command(Args(lambda args: 3)) == 3

    def crash(args):
        raise RuntimeError("a bug, not a refusal")

    with pytest.raises(RuntimeError):  # anything else is not hidden behind exit code 2
        output.run_command(Args(crash))


def test_a_ctrl_c_no_command_handled_is_one_line_and_exit_130(capsys):
    def interrupted(args):
        raise KeyboardInterrupt

    assert output.run_command(Args(interrupted)) == output.EXIT_INTERRUPTED == 130
    assert capsys.readouterr() == ("", "spindiff: interrupted (Ctrl-C)\n")
