"""Ingest a class-folder tree or a .zip into HDFS: check every file, store originals, manifest and a packed copy.

It streams: images are checked and uploaded in chunks, so memory holds one chunk and one packed part, never the
dataset. Nothing partial is kept: new files go to a staging folder and move into place only when every upload
succeeded, and the manifest (the commit point) is swapped in with one atomic rename. One ingest per dataset at
a time (an HDFS lock; a second waits); a failure, a cancel (SIGTERM) or any exception rolls back, and what a
killed ingest (SIGKILL) left is cleared by the next one. Re-running the same ingest stores nothing new (files
are matched by path and SHA-256).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import io
import logging
import posixpath
import secrets
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from engine.classes import CLASSES
from engine.data import datasets
from engine.data.image_checks import inspect_image
from engine.data.ingest_source import Candidate, discover, hdfs_file_name
from engine.data.lock import dataset_lock
from engine.errors import EngineError, InputError, StorageError
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress

__all__ = ["Candidate", "discover", "ingest_dataset"]

logger = logging.getLogger(__name__)

UPLOAD_THREADS = 8  # WebHDFS writes are I/O bound: a few in flight hide the round trips
PACKED_PART_BYTES = 16 * 1024 * 1024  # one packed Parquet file: several HDFS blocks, few files
PACKED_ROW_GROUP = 64  # images per row group, so Spark can split a packed file into tasks
CHUNK_FILES = 512  # at most this many images checked and uploaded together...
CHUNK_BYTES = 64 * 1024 * 1024  # ...and at most this many declared bytes: memory holds one chunk and one packed part


def _chunks(candidates: list[Candidate]):
    """Consecutive runs of candidates bounded by CHUNK_FILES and CHUNK_BYTES (declared sizes)."""
    chunk, size = [], 0
    for cand in candidates:
        if chunk and (len(chunk) >= CHUNK_FILES or size + cand.size > CHUNK_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(cand)
        size += cand.size
    if chunk:
        yield chunk


def _check(candidate: Candidate) -> tuple[Candidate, bytes | None, dict]:
    """(candidate, bytes, image info) for a valid image, else (candidate, None, {"path", "reason"})."""
    try:
        data = candidate.read()
        info = inspect_image(data, "the file")
    except InputError as err:
        return candidate, None, {"path": candidate.source, "reason": str(err).replace("the file ", "", 1)}
    except Exception as err:  # noqa: BLE001 - a hostile zip entry raises anything (BadZipFile, NotImplementedError, zlib.error, ...)
        return candidate, None, {"path": candidate.source, "reason": f"could not be read ({type(err).__name__}: {err})"}
    return candidate, data, dataclasses.asdict(info)


def _part_bytes(rows: list[dict], contents: dict[str, bytes]) -> bytes:
    table = pa.table(
        {
            "path": [r["path"] for r in rows],
            "split": [r["split"] for r in rows],
            "class": [r["class"] for r in rows],
            "sha256": [r["sha256"] for r in rows],
            "content": pa.array([contents[r["path"]] for r in rows], pa.binary()),
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=PACKED_ROW_GROUP, compression="none")  # JPEGs don't compress
    return buf.getvalue()


class _Staging:
    """New files of one ingest: uploaded beside the dataset, moved into place at commit, or removed on rollback."""

    def __init__(self, storage: Storage, name: str):
        self.storage, self.name = storage, name
        self.ds_dir = datasets.dataset_dir(name)
        token = secrets.token_hex(4)
        self.dir = f"{self.ds_dir}/.staging-{token}"
        self.stamp = f"{time.strftime('%Y%m%d-%H%M%S')}-{token}"
        self.rows: list[dict] = []
        self.part_rows: list[dict] = []
        self.part_contents: dict[str, bytes] = {}
        self.parts: list[str] = []  # final paths of the packed parts
        self.moved: list[str] = []
        self.created: list[str] = []  # final folders this run made, removed again on rollback
        self.committed = False

    def staged(self, final_path: str) -> str:
        return self.dir + final_path[len(self.ds_dir) :]

    def add(self, pool: cf.ThreadPoolExecutor, accepted: list[tuple[dict, bytes]]) -> None:
        """Upload a chunk's images into staging and add them to the current packed part."""
        for folder in sorted({posixpath.dirname(row["path"]) for row, _ in accepted}):
            self.storage.makedirs(self.staged(folder))
        for fut in [pool.submit(self.storage.write, self.staged(row["path"]), data) for row, data in accepted]:
            fut.result()  # re-raises the first failed upload
        for row, data in accepted:
            self.rows.append(row)
            self.part_rows.append(row)
            self.part_contents[row["path"]] = data
            if sum(r["bytes"] for r in self.part_rows) >= PACKED_PART_BYTES:
                self.flush_part()

    def flush_part(self) -> None:
        if not self.part_rows:
            return
        target = f"{datasets.packed_dir(self.name)}/part-{self.stamp}-{len(self.parts):03d}.parquet"
        self.storage.write(self.staged(target), _part_bytes(self.part_rows, self.part_contents))
        for row in self.part_rows:
            row["packed_file"] = target
        self.parts.append(target)
        self.part_rows, self.part_contents = [], {}

    def commit(self, pool: cf.ThreadPoolExecutor, manifest: pd.DataFrame, on_progress: ProgressFn) -> None:
        """Move every staged file into place, then swap in the new manifest: the one step that makes them part
        of the dataset (readers see the old manifest or the new one, never a half)."""
        on_progress(len(self.rows), len(self.rows), "moving into place")
        finals = {posixpath.dirname(r["path"]) for r in self.rows} | {datasets.packed_dir(self.name)}
        parents = {posixpath.dirname(f) for f in finals} | {posixpath.dirname(posixpath.dirname(f)) for f in finals}
        self.created = [f for f in sorted(finals | parents) if f.startswith(self.ds_dir + "/") and not self.storage.exists(f)]
        for folder in sorted(finals):
            self.storage.makedirs(folder)
        for path, fut in [(p, pool.submit(self.storage.rename, self.staged(p), p)) for p in [r["path"] for r in self.rows] + self.parts]:
            fut.result()
            self.moved.append(path)
        now = pd.Timestamp.now().floor("s")
        for row in self.rows:
            row["ingested_at"] = now
        frame = pd.concat([manifest, pd.DataFrame(self.rows)], ignore_index=True) if len(manifest) else pd.DataFrame(self.rows)
        datasets.replace_file(self.storage, datasets.manifest_path(self.name), datasets.manifest_bytes(frame))
        self.committed = True

    def rollback(self) -> None:
        """Remove what this run moved into place (the manifest never named it) and the folders it made."""
        for path in self.moved:
            try:
                self.storage.delete(path)
            except StorageError:
                logger.exception("could not roll back %s (the next ingest clears it)", path)
        for folder in sorted(self.created, key=len, reverse=True):  # deepest first; only if still empty
            try:
                if self.storage.exists(folder) and not self.storage.list(folder):
                    self.storage.delete(folder)
            except StorageError:
                logger.warning("could not remove folder %s", folder)

    def clean(self, was_new: bool) -> None:
        try:
            self.storage.delete(self.dir, recursive=True)
            if was_new and not self.committed and self.storage.exists(self.ds_dir) and not self.storage.list(self.ds_dir):
                self.storage.delete(self.ds_dir)  # a new dataset that failed leaves no empty folder
        except StorageError:
            logger.warning("could not remove staging folder %s (the next ingest clears it)", self.dir)


def _accept(cand: Candidate, data: bytes, info: dict, ds_dir: str, known: dict, seen: set, rejected: list) -> dict | str:
    """The manifest row of a checked image, or "known" (already stored), or "rejected" (recorded in ``rejected``)."""
    filename = hdfs_file_name(posixpath.basename(cand.source))
    path = f"{ds_dir}/raw/{datasets.relative_raw_path(cand.split, cand.cls, filename)}"
    if path in seen:
        rejected.append({"path": cand.source, "reason": f"same split, class and file name as another file in the source ({path})"})
        return "rejected"
    if path in known:
        if known[path] == info["sha256"]:
            return "known"
        rejected.append({"path": cand.source, "reason": "a different image with this name is already stored in the dataset"})
        return "rejected"
    seen.add(path)
    return {"path": path, "source": cand.source, "split": cand.split, "class": cand.cls, "bytes": len(data), **info}


def ingest_dataset(storage: Storage, src: Path, name: str, default_split: str = "train", on_progress: ProgressFn = no_progress) -> dict:
    """Check and store every image of ``src`` as dataset ``name``.

    Returns the summary ``{"dataset", "stored", "duplicates_skipped", "rejected", "per_class", ...}``.
    Raises:
        InputError: bad SRC or name, or another ingest of ``name`` did not finish in time.
        StorageError: HDFS failed; nothing of this run is left in HDFS.
    """
    t0 = time.monotonic()
    datasets.check_name(name)
    candidates, rejected = discover(Path(src), default_split)
    with dataset_lock(storage, name, on_progress=on_progress):
        manifest = datasets.read_manifest(storage, name, strict=False)
        stored, skipped = _ingest_locked(storage, name, candidates, rejected, manifest, on_progress)
    seconds = time.monotonic() - t0
    full = pd.concat([manifest, pd.DataFrame(stored)], ignore_index=True) if stored else manifest
    on_progress(len(candidates), len(candidates), "done")
    logger.info("ingest %s: stored %d, skipped %d, rejected %d in %.1f s", name, len(stored), skipped, len(rejected), seconds)
    return {
        "dataset": name,
        "stored": len(stored),
        "duplicates_skipped": skipped,
        "rejected": rejected,
        "per_class": {c: sum(1 for r in stored if r["class"] == c) for c in CLASSES},
        "dataset_images": int(len(full)),
        "dataset_per_class": datasets.summarize(full)["per_class"] if len(full) else {c: 0 for c in CLASSES},
        "seconds": round(seconds, 2),
        "files_per_second": round(len(candidates) / seconds, 1) if seconds > 0 else None,
        "bytes_stored": int(sum(r["bytes"] for r in stored)),
    }


def _ingest_locked(
    storage: Storage, name: str, candidates: list[Candidate], rejected: list[dict], manifest: pd.DataFrame, on_progress: ProgressFn
) -> tuple[list[dict], int]:
    """(stored rows, duplicates skipped); rolls back on any exception, cancel (KeyboardInterrupt) included."""
    known = dict(zip(manifest["path"], manifest["sha256"]))
    seen: set[str] = set()
    staging = _Staging(storage, name)
    total, skipped = len(candidates), 0
    on_progress(0, total, "checking and uploading images")
    try:
        with cf.ThreadPoolExecutor(max_workers=UPLOAD_THREADS) as pool:
            done = 0
            for chunk in _chunks(candidates):
                accepted = []
                for cand, data, info in pool.map(_check, chunk):
                    if data is None:
                        rejected.append(info)
                        continue
                    row = _accept(cand, data, info, staging.ds_dir, known, seen, rejected)
                    if isinstance(row, dict):
                        accepted.append((row, data))
                    else:
                        skipped += row == "known"
                staging.add(pool, accepted)
                done += len(chunk)
                on_progress(done, total, "checking and uploading images")
            staging.flush_part()
            if staging.rows:
                staging.commit(pool, manifest, on_progress)
    except BaseException as err:
        if staging.committed:
            raise
        logger.error("ingest of %s failed, rolling back %d moved files: %s", name, len(staging.moved), err)
        staging.rollback()
        if isinstance(err, (EngineError, OSError)) and not isinstance(err, InputError):
            raise StorageError(f"Ingest of {name!r} failed and was rolled back, nothing of it is kept: {err}") from err
        raise
    finally:
        staging.clean(was_new=len(manifest) == 0)
    return staging.rows, skipped
