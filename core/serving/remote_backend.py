"""A model on an OpenAI-compatible inference server (llama.cpp's, vLLM, SGLang), over ``/v1/completions``.

Plain HTTP from the standard library. Each distribution comes back as the server's top N log-probabilities
(``logprobs=N``); prompt log-probabilities come from ``echo`` with ``logprobs`` where the server gives them.
Connection errors and 5xx answers are retried a bounded number of times with backoff; a slow server is not
retried (it would only make the wait longer). Every failure is a RemoteUnavailable or RemoteError whose message
is written for the teacher in front of the class.
"""

from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from core.sampling import check_sampling_args
from core.serving.backend import (
    Capabilities,
    GeneratedToken,
    Generation,
    NextTokenTop,
    PromptLogprobs,
    TopToken,
    Unsupported,
)

DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2
DEFAULT_MAX_TOP_N = 20  # vLLM's default --max-logprobs; Ollama's cap
MAX_ERROR_CHARS = 300
SHIFT_CHECK_N = 5  # candidates compared to detect prompt log-probabilities shifted by one position


class RemoteError(Exception):
    """The server answered, but not with what we asked for (bad model name, a rejected request, broken JSON)."""


class RemoteUnavailable(RemoteError):
    """The server could not be reached or did not answer in time."""


def _top_tokens(entry: Any) -> tuple[TopToken, ...]:
    """One position's ``top_logprobs`` ({text: logprob}, or vLLM/OpenAI chat-style lists) as TopTokens, best first."""
    if not entry:
        return ()
    if isinstance(entry, dict):
        pairs = list(entry.items())
    else:  # [{"token": ..., "logprob": ...}, ...]
        pairs = [(e.get("token", ""), e.get("logprob")) for e in entry]
    tokens = [TopToken(str(t), float(lp)) for t, lp in pairs if lp is not None and math.isfinite(float(lp))]
    return tuple(sorted(tokens, key=lambda t: -t.logprob))


class RemoteBackend:
    """A model served over HTTP (OpenAI-compatible ``/v1/completions``); only its reported top N are known.

    Args:
        base_url: the server's address, e.g. ``http://127.0.0.1:8080`` (``/v1`` is added when missing).
        model: the model name the server serves (the ``model`` field of each request).
        timeout: seconds to wait for one answer.
        retries: extra attempts after a connection error or a 5xx answer (with backoff 0.5 s, 1 s, ...).
        max_top_n: the most log-probabilities per position the server returns (vLLM: ``--max-logprobs``).
        api_key: sent as ``Authorization: Bearer <key>`` (vLLM and SGLang ``--api-key``, llama.cpp ``--api_key``,
            hosted endpoints). Kept private: never in an error message, a repr or a log line.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        max_top_n: int = DEFAULT_MAX_TOP_N,
        backoff: float = 0.5,
        api_key: str | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise RemoteError(f"The remote server's address {base_url!r} is not an http(s) URL.")
        root = base_url.strip().rstrip("/")
        self.base_url = root if root.endswith("/v1") else root + "/v1"
        self.model = model.strip()
        if not self.model:
            raise RemoteError("No model name is set for the remote server (NTE_REMOTE_MODEL).")
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.max_top_n = max(1, int(max_top_n))
        self.backoff = float(backoff)
        self._api_key = (api_key or "").strip() or None

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(f"Remote server: {self.model}", False, self.max_top_n, None, False)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    # ----- HTTP ------------------------------------------------------------------------------------
    def _request(self, path: str, payload: dict | None = None) -> dict:
        """One JSON request with bounded retries; the parsed answer, or RemoteUnavailable / RemoteError."""
        data = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            request = urllib.request.Request(self.base_url + path, data=data, headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as error:
                detail = _error_detail(error)
                if error.code >= 500:
                    last = RemoteError(
                        f"The model server at {self.host} failed (HTTP {error.code}){detail}. "
                        "It may be overloaded or restarting; try again in a moment."
                    )
                    continue
                if error.code in (401, 403):  # the server's own text is left out: some echo what they were sent
                    which = "refused this app's API key" if self._api_key else "needs an API key"
                    raise RemoteError(
                        f"The model server at {self.host} {which} (HTTP {error.code}). Ask the operator to check "
                        "NTE_REMOTE_API_KEY (or the secret remote_api_key)."
                    ) from None
                if error.code == 404:
                    raise RemoteError(
                        f"The model server at {self.host} does not serve {self.model!r} or this endpoint "
                        f"(HTTP 404){detail}. Check NTE_REMOTE_MODEL against the server's model list."
                    ) from None
                raise RemoteError(
                    f"The model server at {self.host} refused the request (HTTP {error.code}){detail}."
                ) from None
            except TimeoutError:
                raise RemoteUnavailable(
                    f"The model server at {self.host} did not answer within {self.timeout:g} s: it is busy or too "
                    "slow for this request. Try a shorter prompt, or ask the operator to check the server."
                ) from None
            except (urllib.error.URLError, ConnectionError, OSError) as error:
                reason = getattr(error, "reason", error)
                if isinstance(reason, TimeoutError):
                    raise RemoteUnavailable(
                        f"The model server at {self.host} did not answer within {self.timeout:g} s: it is busy or "
                        "too slow for this request."
                    ) from None
                last = RemoteUnavailable(
                    f"The model server at {self.host} cannot be reached ({_short(reason)}): it may be down. "
                    "Ask the operator to start it, or pick the local model in the sidebar."
                )
                continue
            try:
                answer = json.loads(body)
            except ValueError:
                raise RemoteError(f"The model server at {self.host} sent an answer that is not JSON.") from None
            if not isinstance(answer, dict):
                raise RemoteError(f"The model server at {self.host} sent an unexpected answer.")
            return answer
        assert last is not None
        raise last

    def _complete(self, prompt: str, **fields: Any) -> dict:
        """POST /completions and return its first choice (with a check of its shape)."""
        payload = {"model": self.model, "prompt": prompt, "stream": False, **fields}
        answer = self._request("/completions", payload)
        choices = answer.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise RemoteError(f"The model server at {self.host} sent a completion without choices.")
        return choices[0]

    def models(self) -> list[str]:
        """The model names the server lists at ``/v1/models``."""
        answer = self._request("/models")
        return [str(m.get("id")) for m in answer.get("data", []) if isinstance(m, dict)]

    def check(self) -> None:
        """Raise RemoteUnavailable when the server is down, RemoteError when it does not list our model."""
        names = self.models()
        if names and self.model not in names:
            listed = ", ".join(repr(n) for n in names[:5])
            raise RemoteError(f"The model server at {self.host} serves {listed}, not {self.model!r}.")

    # ----- what the pages ask ----------------------------------------------------------------------
    def _top_n(self, top_n: int) -> int:
        return max(1, min(int(top_n), self.max_top_n))

    @staticmethod
    def _logprobs(choice: dict) -> dict:
        block = choice.get("logprobs")
        if not isinstance(block, dict) or not isinstance(block.get("top_logprobs"), list):
            raise Unsupported("The model server returned no log-probabilities (it may not support `logprobs`).")
        return block

    def next_token(self, prompt: str, top_n: int) -> NextTokenTop:
        """The server's top ``top_n`` (capped at max_top_n) for the token after ``prompt``; the rest is unreported."""
        choice = self._complete(prompt, **_greedy_fields(1), logprobs=self._top_n(top_n))
        block = self._logprobs(choice)
        if not block["top_logprobs"]:
            raise RemoteError(f"The model server at {self.host} generated nothing after this prompt.")
        return NextTokenTop(_top_tokens(block["top_logprobs"][0]), exact_rest=False)

    def generate(
        self,
        prompt: str,
        steps: int,
        *,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        seed: int = 0,
        top_n: int = 5,
    ) -> Generation:
        """``steps`` tokens sampled by the server (temperature 0: greedy), each with the server's top ``top_n``."""
        check_sampling_args(float(temperature), int(top_k), float(top_p))
        if temperature == 0:
            sampling = _greedy_fields(max(1, int(steps)))
        else:
            sampling = {
                **_greedy_fields(max(1, int(steps))),
                "temperature": float(temperature),
                "top_k": max(0, int(top_k)),  # 0: every token (llama.cpp; vLLM since 0.8 accepts 0 as well as -1)
                "top_p": float(top_p),
            }
        choice = self._complete(prompt, **sampling, seed=int(seed), logprobs=self._top_n(top_n))
        block = self._logprobs(choice)
        texts = block.get("tokens") or []
        chosen = block.get("token_logprobs") or []
        tokens = tuple(
            GeneratedToken(str(text), None if lp is None else float(lp), _top_tokens(top))
            for text, lp, top in zip(texts, chosen, block["top_logprobs"])
        )
        return Generation(prompt, tokens, choice.get("finish_reason"))

    def prompt_logprobs(self, text: str) -> PromptLogprobs:
        """The log-probability of each token of ``text`` given the tokens before it (``echo`` + ``logprobs``).

        Raises:
            Unsupported: the server gives no prompt log-probabilities (llama.cpp's own server rejects ``echo``), or
                gives them shifted by one position (llama-cpp-python 0.3: each prompt token is scored with the
                distribution computed *after* reading it), which would make any perplexity wrong.
        """
        n = min(SHIFT_CHECK_N, self.max_top_n)
        try:
            block = self._logprobs(self._complete(text, **_greedy_fields(1), echo=True, logprobs=n))
        except RemoteUnavailable:
            raise
        except (RemoteError, Unsupported) as error:
            raise Unsupported(
                f"The model server at {self.host} gives no log-probabilities for the prompt's own tokens, so "
                f"perplexity cannot be measured through it ({error})."
            ) from None
        texts = [str(t) for t in block.get("tokens") or []]
        logprobs = [None if lp is None else float(lp) for lp in block.get("token_logprobs") or []]
        tops = list(block["top_logprobs"])
        # The echo is followed by the generated token: keep the tokens whose text makes up the prompt.
        joined, keep = "", len(texts)
        for i, piece in enumerate(texts):
            joined += piece
            if len(joined) >= len(text):
                keep = i + 1
                break
        texts, logprobs, tops = texts[:keep], logprobs[:keep], tops[:keep]
        if len(texts) < 2 or all(lp is None for lp in logprobs[1:]):
            raise Unsupported(
                f"The model server at {self.host} did not return log-probabilities for the prompt's tokens, so "
                "perplexity cannot be measured through it."
            )
        # Aligned, the last prompt token's candidates are those *for* that token; shifted by one, they are the
        # candidates for the token after the prompt, which a plain next-token request gives.
        if _same_candidates(_top_tokens(tops[-1]), self.next_token(text, n).tokens):
            raise Unsupported(
                f"The model server at {self.host} returns the prompt's log-probabilities shifted by one position "
                "(each token scored with the distribution after it, a known llama-cpp-python bug), so perplexity "
                "cannot be measured through it."
            )
        return PromptLogprobs(tuple(texts), (None, *logprobs[1:]))


def _same_candidates(entry: tuple[TopToken, ...], expected: tuple[TopToken, ...], tolerance: float = 1e-3) -> bool:
    """Whether every ``expected`` candidate is in ``entry`` with the same log-probability."""
    found = {t.token: t.logprob for t in entry}
    return bool(expected) and all(t.token in found and abs(found[t.token] - t.logprob) <= tolerance for t in expected)


def _greedy_fields(max_tokens: int) -> dict:
    """Sampling fields for a greedy request, with llama-cpp-python's defaults that change the distribution off.

    llama-cpp-python applies repeat_penalty 1.1, top_k 40 and min_p 0.05 unless told otherwise (it rejects top_k -1;
    0 switches top-k off); vLLM ignores the fields it does not know (repeat_penalty).
    """
    return {
        "max_tokens": int(max_tokens),
        "temperature": 0.0,
        "top_k": 0,
        "top_p": 1.0,
        "min_p": 0.0,
        "repeat_penalty": 1.0,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
    }


def _short(reason: Any) -> str:
    text = str(getattr(reason, "strerror", None) or reason)
    return text[:120]


def _error_detail(error: urllib.error.HTTPError) -> str:
    """The server's own error message, shortened (FastAPI / vLLM: {"error": {"message": ...}} or {"detail": ...})."""
    try:
        raw = error.read(4096).decode("utf-8", "replace")
    except Exception:
        return ""
    try:
        body = json.loads(raw)
        message = body.get("error", body.get("detail", raw)) if isinstance(body, dict) else raw
        if isinstance(message, dict):
            message = message.get("message", message)
    except ValueError:
        message = raw
    message = " ".join(str(message).split())[:MAX_ERROR_CHARS]
    return f": {message}" if message else ""
