"""Operator settings read from the environment or st.secrets (never from the page), and the shared-server limits.

The app runs on one small server shared by a class (Streamlit Community Cloud: about 2 cores and 2.7 GB). The
``Limits`` keep one visitor's click (or one opened link) to a few seconds of CPU and one process within 2.5 GB;
an operator raises them with an environment variable NTE_<NAME> or the st.secrets key <name> (README, Operator
notes). Values are read on every call, so a changed secret applies on the next run; the number of cached models
is read once, when ui.model_cache is imported (the cache decorator fixes its size).
"""

from __future__ import annotations

import functools
import logging
import math
import os
import tomllib
from dataclasses import dataclass, field, fields
from typing import Any

import streamlit as st

from core.models import DEFAULT_MAX_PARAMS
from core.perplexity import MAX_TEXT_CHARS, MAX_TOKENS_READ

LOG = logging.getLogger(__name__)


def _secret(name: str) -> Any:
    """The operator's st.secrets value for ``name``, or None.

    The secrets files are parsed once per process and again only when one of them changes (a new modification
    time or size): Streamlit's own ``st.secrets`` looks for its files again on every access while none exists,
    the normal case, and every limit is read several times per page run.
    """
    return _operator_secrets().get(name)


def _operator_secrets() -> dict[str, Any]:
    """Every operator secret (see ``_secret``): the files' stamps looked at once, parsed only when they changed."""
    return _parsed_secrets(_secrets_signature())


@functools.lru_cache(maxsize=1)
def _secret_paths() -> tuple[str, ...]:
    """Where Streamlit reads secrets from (its ``secrets.files`` option: TOML files or secret folders)."""
    try:
        return tuple(str(path) for path in st.get_option("secrets.files"))
    except Exception:  # an option Streamlit does not know: no secrets
        return ()


def _secrets_signature() -> tuple:
    """(path, modification time, size) of every secrets file that exists, those inside secret folders included."""
    stamps = []
    for path in _secret_paths():
        for folder, _, files in os.walk(path) if os.path.isdir(path) else [("", (), (path,))]:
            for name in sorted(files):
                try:
                    info = os.stat(os.path.join(folder, name))
                except OSError:  # not there: the normal case
                    continue
                stamps.append((os.path.join(folder, name), info.st_mtime_ns, info.st_size))
    return tuple(stamps)


@functools.lru_cache(maxsize=1)
def _parsed_secrets(signature: tuple) -> dict[str, Any]:
    """Every secret, read from the files ``signature`` stamps (cached until the stamps change): TOML files as
    Streamlit reads them (later files win); secret folders through ``st.secrets``. An unreadable file is logged."""
    if not signature:
        return {}
    values: dict[str, Any] = {}
    for path in _secret_paths():
        try:
            if os.path.isdir(path):
                values.update(st.secrets.to_dict())
            elif os.path.isfile(path):
                with open(path, "rb") as handle:
                    values.update(tomllib.load(handle))
        except Exception as error:  # a broken secrets file must not break every page
            LOG.warning("Ignoring the secrets at %s: %s", path, error)
    return values


@dataclass(frozen=True)
class Limits:
    """What one person may ask of the shared server (measured defaults: see README, Operator notes).

    Attributes:
        max_new_tokens: tokens one generation may add (the "Max new tokens" widget's maximum); at about 20 tokens/s
            on one CPU thread, 256 tokens is about 13 s of a manual, stoppable run.
        max_link_steps: generation steps replayed when a shared link is opened (64: a few seconds on load).
        max_perplexity_chars: characters the perplexity calculator scores per text (4,000: about 800 tokens,
            one window, a few seconds).
        max_params: parameters a picked model may have, checked before any download (200 M: 0.8 GB in float32,
            so the runtime, the bundled model and one more stay within 2.5 GB).
        max_cached_models: models kept loaded in the process (1 on a class server: the bundled model, shared by
            every session; with 1, the picker offers no other model, so students never evict the class's model).
        memo_session_mb: MB of memoised model outputs one session keeps (its least recently used go first).
        memo_total_mb: MB of memoised model outputs all sessions of the process keep together (the least recently
            used of any session go first): with the model (0.54 GB) and the runtime it keeps 30 sessions within
            2.0 GB (README, Operator notes).
        shared_cache_mb: MB of forward passes the shared inference service keeps for every session to reuse.
        shared_steps_mb: MB of generation steps (each step's logits and KV cache) the shared inference service keeps
            for every session to reuse (64: a class's 10-step greedy lesson on a short prompt holds about 3 MB; a
            generation path keeps one copy of its cache).
        poll_students_per_client: students one client address may add to one class-poll room (60: a class behind
            one school address fits; a script opening hundreds of fake students from one address does not).
        poll_wrong_codes_per_minute: unknown room codes one client address may try per minute (20: typos pass,
            guessing codes does not).
        max_perplexity_tokens: tokens one perplexity scoring feeds the model, summed over its windows (2,048: a
            4,000-character text of ~1,200 tokens fits at the default window and stride; a smaller stride is raised
            to fit, with a note). The work grows with these tokens, not with the characters: window 256 and stride
            1 over 4,000 characters would read about 240,000 tokens, minutes of CPU.
        max_replay_tokens: tokens a shared link's or a run file's replay may cost: the prompt's tokens (its
            prefill) plus one per replayed step (1,024: a short prompt replays its 64 steps, a 2,048-token prompt
            none).
    """

    max_new_tokens: int = 256
    max_link_steps: int = 64
    max_perplexity_chars: int = MAX_TEXT_CHARS
    max_params: int = DEFAULT_MAX_PARAMS
    max_cached_models: int = 1
    memo_session_mb: int = 48
    memo_total_mb: int = 320
    shared_cache_mb: int = 160
    shared_steps_mb: int = 64
    poll_students_per_client: int = 60
    poll_wrong_codes_per_minute: int = 20
    max_perplexity_tokens: int = MAX_TOKENS_READ
    max_replay_tokens: int = 1_024


def env_var(name: str) -> str:
    """The environment variable that sets the limit ``name`` (e.g. max_params -> NTE_MAX_PARAMS)."""
    return "NTE_" + name.upper()


def raise_hint(name: str) -> str:
    """One sentence telling an operator how to raise the limit ``name``."""
    return (
        f"The server's operator can raise this limit with the environment variable {env_var(name)} "
        f"or the secret {name}."
    )


@functools.lru_cache(maxsize=64)  # one warning per bad value, not one per page run
def _warn(name: str, value: str, default: int) -> None:
    LOG.warning(
        "Ignoring %s=%r (or secret %s): expected a whole number of at least 1; using the default %s.",
        env_var(name),
        value,
        name,
        default,
    )


def _setting(name: str, default: int, secrets: dict[str, Any] | None = None) -> int:
    """The operator's value for ``name`` (environment first, then st.secrets: ``secrets`` when the caller read them
    already), or ``default`` when unset or invalid."""
    raw = os.environ.get(env_var(name))
    if raw is None or not str(raw).strip():
        raw = (_operator_secrets() if secrets is None else secrets).get(name)
    if raw is None or not str(raw).strip():
        return default
    try:
        number = float(str(raw).strip().replace("_", ""))  # "1e9" and "500_000_000" are fine for parameter counts
    except ValueError:
        number = math.nan
    if isinstance(raw, bool) or not math.isfinite(number) or number != int(number) or number < 1:
        _warn(name, str(raw), default)
        return default
    return int(number)


def limits() -> Limits:
    """The limits in force: each field from NTE_<NAME>, else st.secrets <name>, else its default. The secrets files
    are looked at once per call, not once per field (a page run reads the limits several times; at 30 students the
    per-field look was 8 % of the server's time)."""
    secrets = _operator_secrets()
    return Limits(**{f.name: _setting(f.name, f.default, secrets) for f in fields(Limits)})


def allow_local_models() -> bool:
    """Whether a model may be loaded from a folder on the server (off unless the operator enables it)."""
    value = os.environ.get("NTE_ALLOW_LOCAL_MODELS") or _secret("allow_local_models") or ""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def redis_url() -> str | None:
    """The class poll's Redis URL (NTE_REDIS_URL or st.secrets redis_url), or None: rooms then live in this process."""
    value = os.environ.get("NTE_REDIS_URL") or _secret("redis_url") or ""
    return str(value).strip() or None


def public_url() -> str | None:
    """The address students' phones open the app at (NTE_PUBLIC_URL or st.secrets public_url, e.g.
    ``http://192.168.1.20:8501`` or ``https://nte.school.example``), or None: links then use the teacher's own."""
    value = str(os.environ.get("NTE_PUBLIC_URL") or _secret("public_url") or "").strip()
    return value.rstrip("/") or None


def trusted_proxy() -> bool:
    """Whether a reverse proxy the operator runs stands in front of the app (NTE_TRUSTED_PROXY or secret
    trusted_proxy): only then are its X-Real-IP / X-Forwarded-For headers taken as the client's address."""
    value = os.environ.get("NTE_TRUSTED_PROXY") or _secret("trusted_proxy") or ""
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def replica_count() -> int:
    """How many copies of the app serve this address (NTE_REPLICAS, set by deploy/replicas.py; default 1)."""
    try:
        return max(1, int(str(os.environ.get("NTE_REPLICAS") or _secret("replicas") or 1).strip()))
    except ValueError:
        return 1


def max_model_params() -> int:
    """The parameter cap checked before any download (NTE_MAX_PARAMS or st.secrets max_params)."""
    return limits().max_params


def torch_threads() -> int:
    """Intra-op threads for torch (NTE_TORCH_THREADS, default 1: a shared server has many sessions, few cores)."""
    try:
        return max(1, int(os.environ.get("NTE_TORCH_THREADS", "1")))
    except ValueError:
        return 1


def idle_release_seconds() -> float:
    """Seconds without a script run before the server gives memory back (NTE_IDLE_RELEASE_SECONDS, default 20; 0
    switches it off): one collection and one malloc_trim per quiet moment (ui/idle_release.py). Read once per
    process."""
    try:
        return max(0.0, float(os.environ.get("NTE_IDLE_RELEASE_SECONDS", "20")))
    except ValueError:
        return 20.0


# The remote backend: the operator's model server
@dataclass(frozen=True)
class RemoteSettings:
    """The operator's inference server: base URL and model name (never a visitor's), and how long to wait."""

    base_url: str
    model: str
    timeout: float = 20.0
    max_logprobs: int = 20
    api_key: str | None = field(default=None, repr=False)  # never shown: not in a repr, a page or a link


def remote_settings() -> RemoteSettings | None:
    """The remote model server (NTE_REMOTE_BASE_URL and NTE_REMOTE_MODEL, or st.secrets remote_base_url and
    remote_model), or None when the operator has not set both. NTE_REMOTE_TIMEOUT (seconds, default 20) and
    NTE_REMOTE_MAX_LOGPROBS (the server's cap on top log-probabilities, default 20: vLLM's --max-logprobs default);
    NTE_REMOTE_API_KEY (or remote_api_key), sent as a bearer token to a server started with an API key."""
    url = str(os.environ.get("NTE_REMOTE_BASE_URL") or _secret("remote_base_url") or "").strip()
    model = str(os.environ.get("NTE_REMOTE_MODEL") or _secret("remote_model") or "").strip()
    if not url or not model:
        return None
    raw_timeout = os.environ.get("NTE_REMOTE_TIMEOUT") or _secret("remote_timeout") or 20
    try:
        timeout = float(raw_timeout)
    except (TypeError, ValueError):
        timeout = 20.0
    timeout = timeout if math.isfinite(timeout) and timeout > 0 else 20.0
    api_key = str(os.environ.get("NTE_REMOTE_API_KEY") or _secret("remote_api_key") or "").strip() or None
    return RemoteSettings(url, model, timeout, _setting("remote_max_logprobs", 20), api_key)
