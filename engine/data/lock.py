"""One writer per dataset: an HDFS lock file per dataset, and the clean-up of what a killed writer left behind.

The lock is a file created exclusively on the NameNode (``<root>/locks/ingest-<name>.lock``), so it holds for
writers in any process on any machine. It records host, pid and the process's start time: a lock whose process
is gone (SIGKILL, power cut) on this host is stale and taken over, after clearing that writer's leftovers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import posixpath
import socket
import time
from collections.abc import Iterator

import psutil

from engine.data import datasets
from engine.errors import InputError, NotFoundError
from engine.hdfs.storage import Storage
from engine.progress import ProgressFn, no_progress

logger = logging.getLogger(__name__)

LOCK_WAIT_S = 600.0  # a second ingest of the same dataset waits this long for the first, then gives up
LOCK_POLL_S = 1.0
HALF_WRITTEN_AFTER_S = 30.0  # an unreadable lock this old was left by a writer killed while creating it


def _age_s(storage: Storage, path: str) -> float:
    status = storage.status(path, strict=False)
    return time.time() - status["modificationTime"] / 1000 if status else 0.0


def lock_path(storage: Storage, name: str) -> str:
    return storage.settings.hdfs_path("locks", f"ingest-{datasets.check_name(name)}.lock")


def _me() -> dict:
    me = psutil.Process()
    return {"host": socket.gethostname(), "pid": me.pid, "create_time": me.create_time(), "since": time.time()}


def _holder_is_gone(holder: dict) -> bool:
    if holder.get("host") != socket.gethostname():
        return False  # another machine's process cannot be checked from here
    try:
        return abs(psutil.Process(int(holder["pid"])).create_time() - float(holder["create_time"])) > 0.01
    except (psutil.NoSuchProcess, KeyError, ValueError, TypeError):
        return True


def _read_holder(storage: Storage, path: str) -> dict | None:
    try:
        return json.loads(storage.read(path))
    except NotFoundError:
        return None
    except ValueError:
        return {}  # half-written by a killed process


@contextlib.contextmanager
def dataset_lock(storage: Storage, name: str, wait_s: float = LOCK_WAIT_S, on_progress: ProgressFn = no_progress) -> Iterator[None]:
    """Hold the dataset's ingest lock for the block; clears a dead writer's leftovers before yielding.

    Raises:
        InputError: another live ingest held the lock for longer than ``wait_s`` seconds.
    """
    path = lock_path(storage, name)
    deadline = time.monotonic() + wait_s
    while not storage.create_exclusive(path, json.dumps(_me()).encode()):
        holder = _read_holder(storage, path)
        if holder is None:
            continue  # released between our two calls
        if (holder == {} and _age_s(storage, path) > HALF_WRITTEN_AFTER_S) or (holder and _holder_is_gone(holder)):
            logger.warning("taking over the ingest lock of %s from a process that is gone: %s", name, holder)
            storage.delete(path)
            continue
        if time.monotonic() > deadline:
            raise InputError(
                f"Another ingest of {name!r} (pid {holder.get('pid')} on {holder.get('host')}) has been running "
                f"for over {wait_s:.0f} s; wait for it to finish, then try again."
            )
        on_progress(0, None, f"waiting for another ingest of {name} to finish")
        time.sleep(LOCK_POLL_S)
    try:
        clear_leftovers(storage, name)
        yield
    finally:
        try:
            storage.delete(path)
        except Exception:  # noqa: BLE001 - never mask the ingest's own outcome; a stale lock is taken over later
            logger.exception("could not release the ingest lock %s", path)


def clear_leftovers(storage: Storage, name: str) -> list[str]:
    """Delete what a killed ingest left: staging folders, temporary manifests, and stored files the manifest
    does not list (the manifest is the commit point: a file it does not name was never part of the dataset).

    Returns the paths deleted.
    """
    ds_dir = datasets.dataset_dir(name)
    if not storage.exists(ds_dir):
        return []
    removed = []
    for entry in storage.list(ds_dir):
        if entry["name"].startswith(".staging-") or entry["name"].startswith("manifest.parquet.tmp"):
            storage.delete(entry["path"], recursive=True)
            removed.append(entry["path"])
    manifest = datasets.read_manifest(storage, name, strict=False)
    listed = set(manifest["path"]) | set(manifest["packed_file"].dropna())
    for folder in (datasets.raw_dir(name), datasets.packed_dir(name)):
        for path in _files_under(storage, folder):
            if path not in listed:
                storage.delete(path)
                removed.append(path)
    if removed:
        logger.warning("cleared %d leftovers of an interrupted ingest of %s", len(removed), name)
    return removed


def _files_under(storage: Storage, folder: str) -> list[str]:
    if not storage.exists(folder):
        return []
    found = []
    for entry in storage.list(folder):
        if entry["type"] == "directory":
            found += _files_under(storage, entry["path"])
        else:
            found.append(posixpath.normpath(entry["path"]))
    return found
