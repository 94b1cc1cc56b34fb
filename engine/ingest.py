"""Ingest a class-folder tree or a .zip into HDFS: check every file, store originals, manifest and a packed copy.

Nothing partial is left behind: new files are uploaded into a staging folder
and moved into place only when every upload succeeded. Re-running the same
ingest stores nothing new (files are matched by path and SHA-256).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import io
import logging
import posixpath
import secrets
import time
import zipfile
from pathlib import Path, PurePosixPath
from typing import Callable

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine import datasets
from engine.classes import CLASSES, normalize_class, normalize_split
from engine.errors import EngineError, InputError, StorageError
from engine.images import MAX_FILE_BYTES, inspect_image
from engine.progress import ProgressFn, no_progress
from engine.storage import Storage

logger = logging.getLogger(__name__)

UPLOAD_THREADS = 8  # WebHDFS writes are I/O bound: a few in flight hide the round trips
PACKED_PART_BYTES = 16 * 1024 * 1024  # one packed Parquet file: several HDFS blocks, few files
PACKED_ROW_GROUP = 64  # images per row group, so Spark can split a packed file into tasks


@dataclasses.dataclass
class Candidate:
    """A file found in the source, with the split and class its folders name."""

    source: str  # path inside SRC, '/'-separated
    split: str
    cls: str
    read: Callable[[], bytes]


def _classify_path(parts: tuple[str, ...], default_split: str) -> tuple[str | None, str | None, str | None]:
    """(split, class, reason-if-rejected) for a file's path parts inside the source."""
    if any(p.startswith(".") or p == "__MACOSX" for p in parts):
        return None, None, "hidden file or folder (e.g. .DS_Store, .ipynb_checkpoints)"
    if len(parts) < 2:
        return None, None, "not inside a class folder (expected <class>/<image> or <split>/<class>/<image>)"
    cls = normalize_class(parts[-2])
    if cls is None:
        return None, None, f"unknown class folder {parts[-2]!r} (expected one of {', '.join(CLASSES)})"
    split = (normalize_split(parts[-3]) if len(parts) >= 3 else None) or default_split
    return split, cls, None


def discover(src: Path, default_split: str = "train") -> tuple[list[Candidate], list[dict]]:
    """Walk a folder or a .zip; return candidates and files rejected by their path alone.

    Raises:
        InputError: SRC does not exist, or is neither a folder nor a readable zip.
    """
    candidates: list[Candidate] = []
    rejected: list[dict] = []
    if not src.exists():
        raise InputError(f"{str(src)!r} does not exist; give a class-folder tree or a .zip of one.")
    if src.is_dir():
        for path in sorted(p for p in src.rglob("*") if p.is_file() or p.is_symlink()):
            rel = path.relative_to(src).as_posix()
            split, cls, reason = _classify_path(PurePosixPath(rel).parts, default_split)
            if reason:
                rejected.append({"path": rel, "reason": reason})
            else:
                candidates.append(Candidate(rel, split, cls, path.read_bytes))
        return candidates, rejected
    if not zipfile.is_zipfile(src):
        raise InputError(f"{str(src)!r} is neither a folder nor a .zip archive.")
    try:
        archive = zipfile.ZipFile(src)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise InputError(f"{str(src)!r} is a damaged zip archive ({err}).") from err
    for info in sorted(infos, key=lambda i: i.filename):
        if info.is_dir():
            continue
        name = info.filename
        parts = PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts:
            rejected.append({"path": name, "reason": "unsafe path in the archive (absolute or '..')"})
            continue
        split, cls, reason = _classify_path(parts, default_split)
        if reason:
            rejected.append({"path": name, "reason": reason})
        elif info.file_size > MAX_FILE_BYTES:
            rejected.append({"path": name, "reason": f"{info.file_size / 1e6:.0f} MB uncompressed, over the per-scan limit"})
        else:
            candidates.append(Candidate(name, split, cls, lambda n=name: archive.read(n)))
    return candidates, rejected


def _check(candidate: Candidate) -> tuple[Candidate, bytes | None, dict | None]:
    try:
        data = candidate.read()
        info = inspect_image(data, "the file")
    except InputError as err:
        return candidate, None, {"path": candidate.source, "reason": str(err).replace("the file ", "", 1)}
    except (OSError, zipfile.BadZipFile) as err:
        return candidate, None, {"path": candidate.source, "reason": f"could not be read ({err})"}
    return candidate, data, dataclasses.asdict(info)


def _pack(rows: list[dict], contents: dict[str, bytes]) -> list[tuple[list[str], bytes]]:
    """Group images into Parquet parts of about PACKED_PART_BYTES; returns (paths, parquet bytes) per part."""
    parts, current, size = [], [], 0
    for row in rows:
        current.append(row)
        size += row["bytes"]
        if size >= PACKED_PART_BYTES:
            parts.append(current)
            current, size = [], 0
    if current:
        parts.append(current)
    out = []
    for part in parts:
        table = pa.table({
            "path": [r["path"] for r in part], "split": [r["split"] for r in part], "class": [r["class"] for r in part],
            "sha256": [r["sha256"] for r in part], "content": pa.array([contents[r["path"]] for r in part], pa.binary()),
        })
        buf = io.BytesIO()
        pq.write_table(table, buf, row_group_size=PACKED_ROW_GROUP, compression="none")  # JPEGs don't compress
        out.append(([r["path"] for r in part], buf.getvalue()))
    return out


def ingest_dataset(storage: Storage, src: Path, name: str, default_split: str = "train",
                   on_progress: ProgressFn = no_progress) -> dict:
    """Check and store every image of ``src`` as dataset ``name``.

    Returns the summary ``{"dataset", "stored", "duplicates_skipped", "rejected", "per_class", ...}``.
    Raises:
        InputError: bad SRC or name.
        StorageError: HDFS failed; nothing of this run is left in HDFS.
    """
    t0 = time.monotonic()
    datasets.check_name(name)
    candidates, rejected = discover(Path(src), default_split)
    manifest = datasets.read_manifest(storage, name, strict=False)
    known = dict(zip(manifest["path"], manifest["sha256"]))
    total = len(candidates)
    on_progress(0, total, "checking images")

    accepted: list[dict] = []
    contents: dict[str, bytes] = {}
    skipped = 0
    ds_dir = datasets.dataset_dir(name)
    with cf.ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
        for i, (cand, data, info) in enumerate(pool.map(_check, candidates), 1):
            if i % 25 == 0 or i == total:
                on_progress(i, total, "checking images")
            if data is None:
                rejected.append(info)
                continue
            filename = posixpath.basename(cand.source)
            path = f"{ds_dir}/raw/{datasets.relative_raw_path(cand.split, cand.cls, filename)}"
            if path in contents:
                rejected.append({"path": cand.source, "reason": f"same split, class and file name as another file in the source ({path})"})
                continue
            if path in known:
                if known[path] == info["sha256"]:
                    skipped += 1
                else:
                    rejected.append({"path": cand.source, "reason": "a different image with this name is already stored in the dataset"})
                continue
            accepted.append({"path": path, "source": cand.source, "split": cand.split, "class": cand.cls,
                             "bytes": len(data), **info})
            contents[path] = data

    stored = _store(storage, name, accepted, contents, manifest, on_progress) if accepted else []
    seconds = time.monotonic() - t0
    full = pd.concat([manifest, pd.DataFrame(stored)], ignore_index=True) if stored else manifest
    per_class = {c: sum(1 for r in stored if r["class"] == c) for c in CLASSES}
    on_progress(total, total, "done")
    logger.info("ingest %s: stored %d, skipped %d, rejected %d in %.1f s", name, len(stored), skipped, len(rejected), seconds)
    return {
        "dataset": name,
        "stored": len(stored),
        "duplicates_skipped": skipped,
        "rejected": rejected,
        "per_class": per_class,
        "dataset_images": int(len(full)),
        "dataset_per_class": datasets.summarize(full)["per_class"] if len(full) else {c: 0 for c in CLASSES},
        "seconds": round(seconds, 2),
        "files_per_second": round(total / seconds, 1) if seconds > 0 else None,
        "bytes_stored": int(sum(r["bytes"] for r in stored)),
    }


def _store(storage: Storage, name: str, rows: list[dict], contents: dict[str, bytes], manifest: pd.DataFrame,
           on_progress: ProgressFn) -> list[dict]:
    """Upload into staging, pack, then move into place and rewrite the manifest; roll back on failure."""
    ds_dir = datasets.dataset_dir(name)
    staging = f"{ds_dir}/.staging-{secrets.token_hex(4)}"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    moved: list[str] = []
    created: list[str] = []  # final folders this run made, removed again on rollback
    total = len(rows)
    try:
        on_progress(0, total, "uploading to HDFS")
        for folder in sorted({posixpath.dirname(r["path"]) for r in rows}):
            storage.makedirs(staging + folder[len(ds_dir):])
        with cf.ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            futures = [pool.submit(storage.write, staging + r["path"][len(ds_dir):], contents[r["path"]]) for r in rows]
            for i, fut in enumerate(cf.as_completed(futures), 1):
                fut.result()  # re-raises the first failed upload
                if i % 25 == 0 or i == total:
                    on_progress(i, total, "uploading to HDFS")
        on_progress(total, total, "packing small files into large ones")
        packed_paths = {}
        for k, (paths, data) in enumerate(_pack(rows, contents)):
            target = f"{ds_dir}/packed/part-{stamp}-{k:03d}.parquet"
            storage.write(f"{staging}/packed/{posixpath.basename(target)}", data)
            packed_paths.update({p: target for p in paths})
        on_progress(total, total, "moving into place")
        finals = {posixpath.dirname(r["path"]) for r in rows} | {f"{ds_dir}/packed"}
        for folder in sorted(finals | {posixpath.dirname(f) for f in finals} | {posixpath.dirname(posixpath.dirname(f)) for f in finals}):
            if folder.startswith(ds_dir + "/") and not storage.exists(folder):
                created.append(folder)
        for folder in sorted(finals):
            storage.makedirs(folder)
        for r in rows:
            storage.rename(staging + r["path"][len(ds_dir):], r["path"])
            moved.append(r["path"])
        for target in sorted(set(packed_paths.values())):
            storage.rename(f"{staging}/packed/{posixpath.basename(target)}", target)
            moved.append(target)
        now = pd.Timestamp.now().floor("s")
        for r in rows:
            r["packed_file"] = packed_paths[r["path"]]
            r["ingested_at"] = now
        frame = pd.concat([manifest, pd.DataFrame(rows)], ignore_index=True) if len(manifest) else pd.DataFrame(rows)
        datasets.replace_file(storage, datasets.manifest_path(name), datasets.manifest_bytes(frame))
    except (EngineError, OSError) as err:
        logger.error("ingest of %s failed, rolling back %d moved files: %s", name, len(moved), err)
        for path in moved:
            try:
                storage.delete(path)
            except StorageError:
                logger.exception("could not roll back %s", path)
        for folder in sorted(created, key=len, reverse=True):  # deepest first; only if still empty
            try:
                if storage.exists(folder) and not storage.list(folder):
                    storage.delete(folder)
            except StorageError:
                logger.warning("could not remove folder %s", folder)
        raise StorageError(f"Ingest of {name!r} failed and was rolled back, nothing of it is kept: {err}") from err
    finally:
        try:
            storage.delete(staging, recursive=True)
            if len(manifest) == 0 and storage.exists(ds_dir) and not storage.list(ds_dir):
                storage.delete(ds_dir)  # a new dataset that failed leaves no empty folder
        except StorageError:
            logger.warning("could not remove staging folder %s", staging)
    return rows
