"""`python -m engine dataset ...`: ingest, list, stats, audit, fetch."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.classes import CLASSES
from engine.cli.common import raise_usage
from engine.data import datasets, duplicates, stats
from engine.hdfs.storage import Storage
from engine.settings import Settings


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "dataset", parents=[common], help="ingest, list, describe and audit datasets in HDFS", description="Datasets in HDFS under /mri/datasets/<name>/."
    )
    p.add_argument("action", choices=["ingest", "list", "stats", "audit", "fetch"])
    p.add_argument("target", nargs="?", help="ingest: SRC folder or .zip; stats/audit: dataset name")
    p.add_argument("--name", help="ingest: dataset name (default: the folder or zip name)")
    p.add_argument("--split", default="train", help="ingest: split for <class>/<image> trees (default train)")
    p.add_argument(
        "--threshold",
        type=int,
        default=duplicates.NEAR_THRESHOLD,
        help=f"audit: near-duplicate Hamming threshold in bits (default {duplicates.NEAR_THRESHOLD})",
    )
    p.add_argument("--remove-source", action="store_true", help="ingest: delete SRC afterwards, whatever the outcome, if it is an upload in <run>/uploads")
    p.add_argument("--refresh", action="store_true", help="stats: recompute even if cached")
    p.set_defaults(handler=cmd_dataset)


def _default_name(src: Path) -> str:
    stem = src.stem if src.suffix.lower() == ".zip" else src.name
    cleaned = "".join(c if c.isalnum() or c in "-_" else "-" for c in stem).strip("-_").lower()
    return cleaned or "dataset"


def _ingest_text(r: dict) -> str:
    lines = [
        f"Dataset {r['dataset']!r}: stored {r['stored']} new image(s), skipped {r['duplicates_skipped']} already stored, "
        f"rejected {len(r['rejected'])} ({r['seconds']:.1f} s, {r['files_per_second']} files/s).",
        "  new per class: " + ", ".join(f"{c} {r['per_class'][c]}" for c in CLASSES),
        f"  the dataset now holds {r['dataset_images']} image(s).",
    ]
    for rej in r["rejected"][:20]:
        lines.append(f"  rejected {rej['path']}: {rej['reason']}")
    if len(r["rejected"]) > 20:
        lines.append(f"  ... and {len(r['rejected']) - 20} more (use --json for all)")
    return "\n".join(lines)


def cmd_dataset(args, settings: Settings, progress) -> tuple[dict, str]:
    storage = Storage(settings)
    if args.action == "list":
        found = datasets.list_datasets(storage)
        lines = [f"{d['name']:<20} {d['images']:>6} images  " + ", ".join(f"{c} {d['per_class'][c]}" for c in CLASSES) for d in found]
        return {"datasets": found}, "\n".join(lines) or "No datasets yet; `python -m engine dataset ingest SRC` adds one."
    if args.action == "fetch":
        from engine.data.kaggle import fetch_kaggle

        path = fetch_kaggle()
        return {"path": str(path)}, f"Downloaded to {path}; ingest it with `python -m engine dataset ingest {path}`."
    if not args.target:
        raise_usage(f"dataset {args.action} needs a {'source folder or zip' if args.action == 'ingest' else 'dataset name'}.")
    if args.action == "ingest":
        from engine.bench.demo import DEMO_DATASET
        from engine.data.ingest import ingest_dataset

        src = Path(args.target).expanduser()
        name = args.name or _default_name(src)
        if name == DEMO_DATASET:  # Demo mode replaces this dataset on every run
            raise_usage(f"The dataset name {DEMO_DATASET!r} is reserved for Demo mode; choose another with --name.")
        try:
            result = ingest_dataset(storage, src, name, default_split=args.split, on_progress=progress)
        finally:
            if args.remove_source:
                from engine.jobs.uploads import remove_if_upload

                remove_if_upload(settings, src)
        return result, _ingest_text(result)
    if args.action == "stats":
        summary = None if args.refresh else stats.load_stats(storage, args.target)
        if summary is None:
            summary = stats.compute_stats(settings, storage, args.target, on_progress=progress)
        lines = [f"{args.target}: {summary['images']} images in splits {', '.join(summary['splits'])}"]
        for split, counts in summary["counts"].items():
            lines.append(f"  {split:<6} " + ", ".join(f"{c} {counts[c]}" for c in CLASSES))
        lines.append("  sizes: " + ", ".join(f"{w}x{h} ({n})" for w, h, n in summary["dimensions"][:5]))
        return summary, "\n".join(lines)
    frame = datasets.read_manifest(storage, args.target)
    progress(0, 1, "comparing hashes")
    result = {"dataset": args.target, **duplicates.audit_manifest(frame, threshold=args.threshold)}
    datasets.replace_file(storage, datasets.audit_path(args.target), json.dumps(result).encode())
    progress(1, 1, "done")
    text = (
        f"{args.target}: {result['images']} images, {result['unique_images']} unique after grouping duplicates\n"
        f"  exact duplicate groups: {result['exact_groups']} ({result['exact_duplicate_images']} redundant copies)\n"
        f"  near-duplicate groups (<= {result['threshold_bits']} bits): {result['near_groups']}\n"
        f"  groups spanning splits: {result['cross_split']}; with conflicting labels: {result['conflicting_labels']}\n"
        f"  not brain MRI (listed, e.g. head CT): {result['not_brain_mri']['images']} files, {result['not_brain_mri']['distinct']} distinct"
    )
    return result, text
