"""What every ``spindiff`` command shares: one JSON object on stdout, errors as one line on stderr and exit code 2.

A command returns its exit code. `print_json` is its result, `fail` a refusal it detects itself (a
missing file, too few bits), and `run_command` turns any `SpindiffError` the library raises (an
unknown profile, a mismatched resumed run) into the same refusal, and a Ctrl-C that no command handled
itself into one line and exit code 130. Argument errors exit 2 through argparse before a command
runs. Progress and human-readable notes go to stderr.
"""

from __future__ import annotations

import json
import sys

#: The exit code of a refused command; argparse uses the same one for bad arguments.
EXIT_ERROR = 2
#: The exit code of a command stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
EXIT_INTERRUPTED = 130


def print_json(obj) -> None:
    """A command's result: one JSON object (indent 2, keys in insertion order) and a newline on stdout."""
    json.dump(obj, sys.stdout, indent=2)
    sys.stdout.write("\n")


def fail(message: str) -> int:
    """``spindiff: error: <message>`` on stderr; returns `EXIT_ERROR` for the command to return."""
    print(f"spindiff: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def run_command(args) -> int:
    """Run the parsed command (``args.func``); a `SpindiffError` becomes `fail` with its message, and a
    `KeyboardInterrupt` that reaches here (a Ctrl-C while ``serve`` is still importing, say) one line."""
    from device.errors import SpindiffError  # device/ is imported when a command runs, not with app.cli

    try:
        return args.func(args)
    except SpindiffError as error:
        return fail(str(error))
    except KeyboardInterrupt:
        print("spindiff: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED
