"""`benchmark adapt`: the learning curve of scratch against adapted training, as a table."""

from __future__ import annotations

from engine.hdfs.storage import Storage
from engine.jobs.requests import parse_counts
from engine.settings import Settings


def cmd_adapt(args, settings: Settings, progress) -> tuple[dict, str]:
    from engine.bench.adapt import benchmark_adapt, plain_reading

    r = benchmark_adapt(
        settings,
        Storage(settings),
        args.dataset,
        parse_counts(args.per_class, "--per-class"),
        size=args.size,
        epochs=args.epochs or 20,
        base_epochs=args.base_epochs,
        freeze_epochs=args.freeze_epochs,
        holdout=args.holdout,
        on_progress=progress,
    )
    s = r["starting_model"]
    lines = [
        f"What transfer buys on {r['dataset']} ({r['parts']['test']:,} test scans; starting model trained on "
        f"{r['parts']['starting_model']:,} other scans for {s['epochs']} epochs: {s['accuracy']:.3f}):",
        f"  {'per class':>9} {'method':<8} {'images':>6} {'accuracy':>8} {'seconds':>8}",
    ]
    for x in r["runs"]:
        lines.append(f"  {x['per_class']:>9} {x['method']:<8} {x['images']:>6} {x['accuracy']:>8.3f} {x['seconds']:>8.1f}")
    lines.append(plain_reading(r))
    return r, "\n".join(lines)
