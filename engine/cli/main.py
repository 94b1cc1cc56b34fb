"""The command line, ``python -m engine``: the same operations the dashboard offers.

Every command prints a readable summary, or with ``--json`` exactly one JSON
object on stdout. Exit codes: 0 success, 2 bad usage or bad input, 1 any
other failure; the message on stderr says what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from engine.cli import bench, clinic, cluster, dataset, jobs, models
from engine.cli.common import Parser, PartialFailure, UsageError
from engine.errors import EngineError
from engine.progress import EventFile, TerminalBar, fan_out, no_progress
from engine.settings import get_settings

logger = logging.getLogger("engine")

COMMAND_GROUPS = (cluster, dataset, models, clinic, bench, jobs)  # each adds its subcommands, in --help order


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    prog = "mri" if Path(sys.argv[0]).name == "mri" else "python -m engine"
    parser = Parser(prog=prog, description="Brain-MRI pipeline engine: HDFS, Spark, training, classification.", parents=[common])
    parser.add_argument("--progress-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True
    for group in COMMAND_GROUPS:
        group.add_parsers(sub, common)
    return parser


def _fix_jobs_start(args) -> None:
    # `jobs show ID --json`: REMAINDER swallowed the flag.
    if getattr(args, "handler", None) is jobs.cmd_jobs and args.action != "start" and "--json" in (args.command or []):
        args.json = True
        args.command = [w for w in args.command if w != "--json"]
    # `jobs start -- sleep 5`: argparse puts the first word in `id`.
    if getattr(args, "handler", None) is jobs.cmd_jobs and args.action == "start":
        words = ([args.id] if args.id else []) + list(args.command or [])
        args.command = [w for w in words if w != "--"]
        args.id = None
        if args.command:
            build_parser().parse_args(args.command)  # reject an unknown command now, not in the background


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    want_json = "--json" in argv
    try:
        args = build_parser().parse_args(argv)
        _fix_jobs_start(args)
    except UsageError as err:
        return _fail(err, want_json)
    # Cancel (the job runner's SIGTERM) unwinds like Ctrl-C, so every rollback and `finally` runs.
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(
        level=logging.INFO if (args.verbose or args.progress_file) else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    bar = TerminalBar() if not args.json else None
    callbacks: list[Callable] = [cb for cb in (bar, EventFile(args.progress_file) if args.progress_file else None) if cb]
    progress = fan_out(*callbacks) if callbacks else no_progress
    try:
        settings = get_settings()
        # Libraries that print (Elephas' ">>> Fit model") must not break the one-JSON-object contract.
        with contextlib.redirect_stdout(sys.stderr):
            result, text = args.handler(args, settings, progress)
    except PartialFailure as err:  # print what did work, then fail with the reason
        sys.stdout.write((json.dumps(err.result, default=str) if args.json else err.text) + "\n")
        sys.stderr.write(f"error: {err}\n")
        return err.exit_code
    except EngineError as err:
        return _fail(err, args.json)
    except KeyboardInterrupt:
        return _fail(EngineError("Interrupted (cancelled); whatever it had half done was rolled back."), args.json)
    except Exception as err:  # last resort: one sentence on screen, the traceback in the log
        logger.exception("unexpected error")
        return _fail(EngineError(f"Unexpected {type(err).__name__}: {err}. This is a bug; the traceback is above."), args.json)
    finally:
        if bar:
            bar.close()
    if args.json:
        sys.stdout.write(json.dumps(result, default=str) + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


def _interrupt(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def _fail(err: EngineError, want_json: bool) -> int:
    code = getattr(err, "exit_code", 1)
    sys.stderr.write(f"error: {err}\n")
    if want_json:
        sys.stdout.write(json.dumps({"error": str(err), "exit_code": code}) + "\n")
    return code
