"""`jobs`, `demo` and `sleep`: background work, the presenters' whole pipeline, and a diagnostic job."""

from __future__ import annotations

import argparse
import time

from engine.cli.common import raise_usage
from engine.errors import EngineError
from engine.hdfs.storage import Storage
from engine.jobs import store as jobs
from engine.settings import Settings


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "jobs", parents=[common], help="list, show, start or cancel background jobs", description="Background jobs: any engine command run in its own process."
    )
    p.add_argument("action", choices=["list", "show", "cancel", "start"])
    p.add_argument("id", nargs="?", help="job id for show/cancel")
    p.add_argument("command", nargs=argparse.REMAINDER, help="for start: the engine command to run, after --")
    p.set_defaults(handler=cmd_jobs)

    p = sub.add_parser(
        "demo",
        parents=[common],
        help="run the whole pipeline on the shipped sample (Demo mode)",
        description="Ingest the shipped sample as dataset 'demo', show its blocks, preprocess it with Spark, "
        "train briefly with Elephas, measure the speed-up and classify a scan. Touches only "
        "the 'demo' dataset and its own models.",
    )
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser(
        "sleep",
        parents=[common],
        help="diagnostic: a job that counts for N seconds",
        description="Diagnostic command: reports progress for N seconds (tests the job runner).",
    )
    p.add_argument("seconds", type=float)
    p.add_argument("--fail", action="store_true", help="fail at the end")
    p.set_defaults(handler=cmd_sleep)


def cmd_jobs(args, settings: Settings, progress) -> tuple[dict, str]:
    if args.action == "list":
        found = jobs.list_jobs(settings)
        lines = [f"{j.id:<40} {j.status:<10} {j.title}" for j in found]
        return {"jobs": [j.to_dict() for j in found]}, "\n".join(lines) or "No jobs yet."
    if args.action == "start":
        if not args.command:
            raise_usage("jobs start needs a command, e.g. `python -m engine jobs start -- sleep 5`.")
        job = jobs.submit_job(settings, args.command)
        return job.to_dict(), f"Started job {job.id}."
    if not args.id:
        raise_usage(f"jobs {args.action} needs a job id; `python -m engine jobs list` shows them.")
    job = jobs.cancel_job(settings, args.id) if args.action == "cancel" else jobs.get_job(settings, args.id)
    text = f"{job.id}: {job.status}" + (f" — {job.error}" if job.error else "")
    if job.progress:
        text += f"\n  last progress: {job.progress.get('done')}/{job.progress.get('total')} {job.progress.get('message', '')}"
    return job.to_dict(), text


def cmd_demo(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.demo import run_demo

    state = run_demo(settings, Storage(settings), on_progress=progress)
    lines = [f"Demo finished in {state['seconds']:.0f} s (budget {state['budget_s']:.0f} s):"]
    lines += [f"  {s['title']:<30} {s['seconds']:>6.1f} s" for s in state["steps"]]
    answer = state["steps"][-1]["result"]
    lines.append(f"  classified {answer['file']} ({answer['true_class']}) as {answer['label']}")
    return state, "\n".join(lines)


def cmd_sleep(args, settings: Settings, progress) -> tuple[dict, str]:
    """Diagnostic: count for N seconds with progress (exercises jobs end to end)."""
    steps = max(1, int(args.seconds * 10))
    for i in range(steps):
        progress(i, steps, f"sleeping {i / 10:.1f} of {args.seconds} s")
        time.sleep(0.1)
    progress(steps, steps, "done")
    if args.fail:
        raise EngineError(f"Failing on purpose after {args.seconds} s, as --fail asked.")
    return {"slept_s": args.seconds}, f"Slept {args.seconds} s."
