"""What every ``spindiff`` command shares: one JSON object on stdout, errors as one line on stderr and exit code 2.

A command returns its exit code. `print_json` is its result, `fail` a refusal it detects itself (a
missing file, too few bits), and `run_command` turns any `SpindiffError` the library raises (an
unknown profile, a mismatched resumed run) into the same refusal. Argument errors exit 2 through
argparse before a command runs. Progress and human-readable notes go to stderr.
"""

from __future__ import annotations

import json
import sys

#: The exit code of a refused command; argparse uses the same one for bad arguments.
EXIT_ERROR = 2


def print_json(obj) -> None:
    """A command's result: one JSON object (indent 2, keys in insertion order) and a newline on stdout."""
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def fail(message: str) -> int:
    """``spindiff: error: <message>`` on stderr; returns `EXIT_ERROR` for the command to return."""
    print(f"spindiff: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def run_command(args) -> int:
    """Run the parsed command (``args.func``); a `SpindiffError` becomes `fail` with its message."""
    from device.errors import SpindiffError  # device/ is imported when a command runs, not with app.cli

    try:
        return args.func(args)
    except SpindiffError as error:
        return fail(str(error))
