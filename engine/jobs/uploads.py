"""Files a browser uploads for a job: stored under random names in ``<run_dir>/uploads``, removed once used.

An upload's own name may carry a patient's name, so it is never used on disk, in job titles or in logs.
"""

from __future__ import annotations

import logging
import secrets
import time
from pathlib import Path

from engine.settings import Settings

logger = logging.getLogger(__name__)

STALE_AFTER_S = 24 * 3600  # an upload no job used within a day (the dashboard died first) is removed


def uploads_dir(settings: Settings) -> Path:
    return settings.run_dir / "uploads"


def save_upload(settings: Settings, data: bytes, suffix: str) -> Path:
    """Write ``data`` to a new randomly named file (owner-only permissions); returns its path."""
    folder = uploads_dir(settings)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    remove_stale(settings)
    path = folder / f"{secrets.token_hex(8)}{suffix}"
    path.touch(mode=0o600)
    path.write_bytes(data)
    return path


def remove_if_upload(settings: Settings, path: Path) -> bool:
    """Delete ``path`` if, and only if, it is a file in the uploads folder (never a user's own file)."""
    path = Path(path).resolve()
    if path.parent != uploads_dir(settings).resolve() or not path.is_file():
        return False
    path.unlink(missing_ok=True)
    return True


def remove_stale(settings: Settings) -> None:
    folder = uploads_dir(settings)
    for path in folder.iterdir() if folder.is_dir() else []:
        try:
            if path.is_file() and time.time() - path.stat().st_mtime > STALE_AFTER_S:
                path.unlink()
        except OSError as err:
            logger.warning("could not remove stale upload %s: %s", path.name, err)
