"""Download the public Kaggle dataset with kagglehub (needs internet and, for some sets, Kaggle credentials)."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.errors import EnvironmentProblem

logger = logging.getLogger(__name__)

KAGGLE_SLUG = "masoudnickparvar/brain-tumor-mri-dataset"


def fetch_kaggle(slug: str = KAGGLE_SLUG) -> Path:
    """Download (or reuse kagglehub's cache of) the dataset and return its local folder.

    Raises:
        EnvironmentProblem: the machine is offline or Kaggle refused the download.
    """
    import kagglehub  # deferred: it reads its config at import
    import requests

    try:
        path = Path(kagglehub.dataset_download(slug))
    except (requests.RequestException, OSError) as err:
        raise EnvironmentProblem(
            f"Could not download {slug!r} from Kaggle ({type(err).__name__}): this machine seems offline; "
            "download it elsewhere and run `python -m engine dataset ingest <folder-or-zip>`."
        ) from err
    except Exception as err:  # kagglehub raises its own types for auth and HTTP errors
        raise EnvironmentProblem(
            f"Kaggle refused the download of {slug!r}: {err}. Check your Kaggle credentials (~/.kaggle/kaggle.json) or ingest a local copy instead."
        ) from err
    logger.info("downloaded %s to %s", slug, path)
    return path
