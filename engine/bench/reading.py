"""A plain-language reading of a preprocessing benchmark, for students, and the caveats that go with it."""

from __future__ import annotations

from engine.numbers import count, ratio, seconds

TOO_FEW_IMAGES = 1_000  # below this, fixed costs (JVM, task scheduling) swamp the work and speed-up is not visible


def plain_reading(result: dict) -> str:
    """E.g. 'On 2 cores Spark's fixed start-up costs 9.1 s, so below about 1,800 images the sequential loop wins.'"""
    runs = result["runs"]
    n = result["images"]
    seq = next(r for r in runs if r["method"] == "sequential")["seconds_median"]
    spark = [r for r in runs if r["method"] == "spark-arrow" and r["input"] == "packed"]
    pool = [r for r in runs if r["method"] == "pool"]
    if not spark:
        return "No Spark run in this measurement."
    best = min(spark, key=lambda r: r["seconds_median"])
    b = best["breakdown"]
    # The JVM starts once, in the first session; later sessions reuse it, so take the largest.
    fixed = max(r["breakdown"].get("session_start", 0) for r in spark) + b.get("python_worker_start", 0)
    per_image_seq = seq / max(n, 1)
    per_image_spark = best["seconds_median"] / max(n, 1)
    text = (
        f"On {count(result['cores'], 'core')}, {n:,} images took {seconds(seq)} in a sequential loop and "
        f"{seconds(best['seconds_median'])} with Spark at {count(best['workers'], 'worker')} (plus {seconds(fixed)} once "
        "to start the JVM and Python workers). "
    )
    if per_image_spark < per_image_seq:
        break_even = fixed / (per_image_seq - per_image_spark)
        text += f"Spark's fixed start-up of {seconds(fixed)} only pays off above about {break_even:,.0f} images; below that the sequential loop wins. "
    else:
        text += "Per image, Spark was not faster than the loop on this data: its per-task overhead outweighs the work. "
    if pool:
        best_pool = min(pool, key=lambda r: r["seconds_median"])
        text += (
            f"A local process pool needed {seconds(best_pool['seconds_median'])} at "
            f"{count(best_pool['workers'], 'worker')}: Spark took {ratio(best['seconds_median'] / best_pool['seconds_median'])} "
            "as long here, the price of reading from HDFS, scheduling tasks and writing replicated Parquet, in return "
            "for scaling past one machine."
        )
    return text


def caveats(result: dict) -> list[str]:
    """Why this measurement cannot show speed-up well, if it cannot (too little data, one repeat, one worker count)."""
    out = []
    if result["images"] < TOO_FEW_IMAGES:
        out.append(
            f"Only {result['images']:,} images: fixed costs swamp the work, so speed-ups here say little. Measure "
            f"a dataset of at least {TOO_FEW_IMAGES:,} images (the full Kaggle set has 5,708) to see parallelism pay."
        )
    if result.get("repeat", 1) < 2:
        out.append(
            "One repeat: every time is a single sample, and on a shared machine two runs of the same thing differ "
            "by tenths of a second. Use 3 repeats to compare methods."
        )
    if len(set(result.get("workers", []))) < 2:
        out.append("One worker count: speed-up needs at least two (e.g. 1,2).")
    return out


def fit_is_meaningful(amdahl: dict | None) -> bool:
    """An Amdahl projection is worth drawing only from a fit that says something (not all-serial, a usable interval)."""
    if not amdahl or amdahl.get("serial_fraction") is None or not amdahl.get("projection"):
        return False
    low, high = amdahl.get("serial_fraction_ci95") or (0.0, 1.0)
    return amdahl["serial_fraction"] < 0.95 and high - low < 0.5
