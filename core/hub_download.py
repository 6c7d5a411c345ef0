"""Fetch a model's files from the Hugging Face Hub into its cache, reporting the bytes as they arrive.

Where the bundled package is absent (Streamlit Community Cloud), the first start downloads SmolLM2-135M-Instruct
(about 270 MB of weights) before any page can use it: the page shows this download's progress instead of a blank
screen. ``from_pretrained`` then loads the same files from the cache.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from huggingface_hub import constants, snapshot_download, try_to_load_from_cache
from huggingface_hub.file_download import repo_folder_name
from huggingface_hub.utils import HfHubHTTPError

Progress = Callable[[float, str], None]

# What from_pretrained reads for a causal LM in safetensors (no PyTorch .bin, ONNX or GGUF copies).
MODEL_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.py"]
POLL_SECONDS = 0.25


class HubDownloadError(Exception):
    """The files could not be fetched; the message says why in one sentence."""


def in_hub_cache(name: str) -> bool:
    """True when ``name``'s config is already in the local Hugging Face cache (a download has happened)."""
    return isinstance(try_to_load_from_cache(name, "config.json"), str)


def _bytes_under(folder: Path) -> int:
    """Bytes of every file under ``folder`` (finished blobs and the ``.incomplete`` ones still growing)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:  # a file renamed from .incomplete meanwhile
            pass
    return total


def download_model(name: str, progress: Progress | None = None) -> str:
    """Download ``name``'s model files into the Hub cache, calling ``progress(fraction, message)`` as bytes arrive.

    Args:
        name: a Hub id such as ``HuggingFaceTB/SmolLM2-135M-Instruct``.
        progress: called from this thread with a fraction in [0, 1] and a message such as "81 of 270 MB".

    Returns:
        The snapshot folder holding the files.

    Raises:
        HubDownloadError: the Hub could not be reached, or the download failed.
    """
    report = progress or (lambda fraction, message: None)
    try:
        plan = snapshot_download(name, allow_patterns=MODEL_FILES, dry_run=True)
    except (HfHubHTTPError, OSError, ValueError) as error:
        raise HubDownloadError(
            f"Could not reach the Hugging Face Hub to fetch '{name}' ({type(error).__name__})."
        ) from error
    total = sum(info.file_size or 0 for info in plan if info.will_download) or 1
    blobs = Path(constants.HF_HUB_CACHE) / repo_folder_name(repo_id=name, repo_type="model") / "blobs"
    start = _bytes_under(blobs) if blobs.exists() else 0
    result: dict = {}

    def fetch() -> None:
        try:
            result["folder"] = snapshot_download(name, allow_patterns=MODEL_FILES)
        except Exception as error:  # reported in the caller's thread
            result["error"] = error

    worker = threading.Thread(target=fetch, daemon=True, name=f"hub-download {name}")
    worker.start()
    while worker.is_alive():
        done = (_bytes_under(blobs) - start) if blobs.exists() else 0
        fraction = min(0.99, max(0.0, done / total))
        report(fraction, f"{done / 1e6:,.0f} of {total / 1e6:,.0f} MB")
        time.sleep(POLL_SECONDS)
    if "error" in result:
        error = result["error"]
        raise HubDownloadError(
            f"Downloading '{name}' from the Hugging Face Hub failed ({type(error).__name__})."
        ) from error
    report(1.0, f"{total / 1e6:,.0f} MB downloaded")
    return result["folder"]
