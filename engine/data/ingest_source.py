"""What an ingest reads: the files of a class-folder tree or a .zip, checked by path and declared size alone.

Nothing here reads pixels. A source is bounded before any file is read: at most ``MAX_SOURCE_FILES`` entries
and ``MAX_SOURCE_BYTES`` in all (declared sizes), each at most ``MAX_FILE_BYTES``. Symbolic links are never
followed and zip entries that would land outside the dataset (absolute, ``..``, drive letters) are refused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
import stat
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from engine.classes import CLASSES, normalize_class, normalize_split
from engine.data.image_checks import MAX_FILE_BYTES
from engine.errors import InputError

MAX_SOURCE_FILES = 200_000  # entries in one folder tree or zip (the Kaggle set has 7,023)
MAX_SOURCE_BYTES = 8 * 1024**3  # declared bytes in all; a zip bomb declares far more
UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]")  # ':' breaks Hadoop paths, '#' and '%' URLs, '/' and '\\' folders
MAX_NAME_CHARS = 120  # HDFS allows 255 bytes a path component; UTF-8 takes up to 4 a character


@dataclasses.dataclass
class Candidate:
    """A file found in the source, with the split and class its folders name."""

    source: str  # path inside SRC, '/'-separated
    split: str
    cls: str
    read: Callable[[], bytes]
    size: int = 0  # declared bytes (file size, or a zip entry's uncompressed size)


def hdfs_file_name(name: str) -> str:
    """A file name that is safe in HDFS paths, URLs and Spark's listings; unchanged when it already is.

    Renamed files get a hash of the original name, so two names that clean to the same text stay distinct.
    """
    clean = UNSAFE_NAME_CHARS.sub("_", name)
    if clean.startswith("_"):  # Spark and Hadoop skip files whose names start with '_' or '.'
        clean = "f" + clean
    if clean == name and len(clean) <= MAX_NAME_CHARS:
        return name
    stem, ext = posixpath.splitext(clean)
    return f"{stem[: MAX_NAME_CHARS - 20]}-{hashlib.sha256(name.encode()).hexdigest()[:8]}{ext[:10]}"


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


def _check_totals(count: int, total: int, src: Path) -> None:
    if count > MAX_SOURCE_FILES:
        raise InputError(f"{str(src)!r} holds over {MAX_SOURCE_FILES:,} files; ingest it in parts.")
    if total > MAX_SOURCE_BYTES:
        raise InputError(
            f"{str(src)!r} declares {total / 1024**3:.1f} GiB in all, over the {MAX_SOURCE_BYTES // 1024**3} GiB "
            "limit for one ingest (a zip bomb declares far more than it holds); ingest it in parts."
        )


def _from_folder(src: Path, default_split: str) -> tuple[list[Candidate], list[dict]]:
    candidates, rejected, total = [], [], 0
    for count, path in enumerate(sorted(src.rglob("*")), 1):
        _check_totals(count, 0, src)
        rel = path.relative_to(src).as_posix()
        if path.is_symlink():
            rejected.append({"path": rel, "reason": "symbolic link (not followed)"})
            continue
        if not path.is_file():
            continue
        split, cls, reason = _classify_path(PurePosixPath(rel).parts, default_split)
        size = path.stat().st_size
        if reason:
            rejected.append({"path": rel, "reason": reason})
        elif size > MAX_FILE_BYTES:
            rejected.append({"path": rel, "reason": f"{size / 1e6:.0f} MB, over the per-scan limit"})
        else:
            total += size
            candidates.append(Candidate(rel, split, cls, path.read_bytes, size))
    _check_totals(0, total, src)
    return candidates, rejected


def _zip_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    parts = PurePosixPath(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or "\\" in name or re.match(r"^[A-Za-z]:", name):
        return "unsafe path in the archive (absolute, '..' or a drive letter)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "symbolic link (not followed)"
    if info.file_size > MAX_FILE_BYTES:
        return f"{info.file_size / 1e6:.0f} MB uncompressed, over the per-scan limit"
    return None


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as entry:  # yields at most the declared size (then checks the CRC)
        return entry.read(MAX_FILE_BYTES + 1)


def _from_zip(src: Path, default_split: str) -> tuple[list[Candidate], list[dict]]:
    try:
        archive = zipfile.ZipFile(src)
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise InputError(f"{str(src)!r} is a damaged zip archive ({err}).") from err
    _check_totals(len(infos), sum(i.file_size for i in infos), src)
    candidates, rejected = [], []
    for info in sorted(infos, key=lambda i: i.filename):
        reason = _zip_reason(info)
        split, cls = None, None
        if reason is None:
            split, cls, reason = _classify_path(PurePosixPath(info.filename).parts, default_split)
        if reason:
            rejected.append({"path": info.filename, "reason": reason})
        else:
            candidates.append(Candidate(info.filename, split, cls, lambda i=info: _read_entry(archive, i), info.file_size))
    return candidates, rejected


def discover(src: Path, default_split: str = "train") -> tuple[list[Candidate], list[dict]]:
    """Walk a folder or a .zip; return candidates and files rejected by their path or declared size alone.

    Raises:
        InputError: SRC does not exist, is neither a folder nor a readable zip, or is over the size limits.
    """
    if not src.exists():
        raise InputError(f"{str(src)!r} does not exist; give a class-folder tree or a .zip of one.")
    if src.is_dir():
        return _from_folder(src, default_split)
    if not zipfile.is_zipfile(src):
        raise InputError(f"{str(src)!r} is neither a folder nor a .zip archive.")
    return _from_zip(src, default_split)
