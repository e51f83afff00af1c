"""Any OpenAI-compatible chat-completions endpoint (vLLM, Ollama, llama.cpp server, hosted APIs).

Images go as base64 PNG data URLs in `image_url` content parts. Timeouts, connection errors, HTTP 429/5xx
and malformed response bodies are retried with exponential backoff; other HTTP errors fail at once.
Only the standard library is used (urllib).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Sequence

import numpy as np

from tracklift.classify.chat import LLMError, encode_png
from tracklift.core.config import config, option

log = logging.getLogger(__name__)

ENV_URL, ENV_MODEL, ENV_KEY = "TRACKLIFT_LLM_URL", "TRACKLIFT_LLM_MODEL", "TRACKLIFT_LLM_API_KEY"


@config
class OpenAIChatConfig:
    url: str  # server base (".../v1") or the full ".../chat/completions" address
    model: str
    api_key: str | None = option(
        None, "bearer token; None sends none (from the environment only, never shown)", secret=True
    )
    timeout: float = option(120.0, "seconds per attempt", low=0.1, high=3600.0)
    retries: int = option(3, "attempts after the first", low=0, high=100)
    backoff: float = option(1.0, "seconds before the first retry, doubled each time", low=0.0, high=600.0)
    max_tokens: int = option(128, "answer length limit, tokens", low=1, high=1_000_000)
    temperature: float = option(0.0, "sampling temperature", low=0.0, high=2.0)

    @classmethod
    def from_env(cls, url: str | None = None, model: str | None = None, **kwargs) -> "OpenAIChatConfig":
        """Fill url / model / key from TRACKLIFT_LLM_URL, TRACKLIFT_LLM_MODEL, TRACKLIFT_LLM_API_KEY."""
        url = url or os.environ.get(ENV_URL)
        model = model or os.environ.get(ENV_MODEL)
        if not url:
            raise ValueError(f"no LLM endpoint: pass a URL or set {ENV_URL}")
        if not model:
            raise ValueError(f"no LLM model name for {url}: set {ENV_MODEL}")
        return cls(url=url, model=model, api_key=os.environ.get(ENV_KEY) or None, **kwargs)


def completions_url(url: str) -> str:
    """Accept a server root, a '/v1' base or the full endpoint; return the chat-completions address."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        return url
    if url.endswith("/v1"):
        return url + "/chat/completions"
    return url + "/v1/chat/completions"


class OpenAIChat:
    def __init__(self, config: OpenAIChatConfig) -> None:
        if not config.url.startswith(("http://", "https://")):
            raise ValueError(f"LLM url must start with http:// or https://, got {config.url!r}")
        self.config = config
        self.model_id = config.model
        self.endpoint = completions_url(config.url)
        self.requests = 0  # HTTP requests sent, retries included

    def chat(self, prompt: str, images: Sequence[np.ndarray]) -> str:
        content = [
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64," + base64.b64encode(encode_png(im)).decode()},
            }
            for im in images
        ]
        content.append({"type": "text", "text": prompt})
        body = json.dumps(
            {
                "model": self.config.model,
                "messages": [{"role": "user", "content": content}],
                "max_tokens": self.config.max_tokens,
                "temperature": self.config.temperature,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self.config.api_key:
            headers["Authorization"] = f"Bearer {self.config.api_key}"
        last = "no attempt made"
        for attempt in range(self.config.retries + 1):
            if attempt:
                time.sleep(self.config.backoff * 2 ** (attempt - 1))
            try:
                return self._post(body, headers)
            except urllib.error.HTTPError as err:
                if err.code != 429 and err.code < 500:
                    raise LLMError(f"{self.endpoint}: HTTP {err.code} {err.reason}") from err
                last = f"HTTP {err.code} {err.reason}"
            except (
                urllib.error.URLError,
                http.client.HTTPException,
                TimeoutError,
                socket.timeout,
                ConnectionError,
            ) as err:
                last = f"{type(err).__name__}: {getattr(err, 'reason', err)}"
            except _BadResponse as err:
                last = str(err)
            log.warning(
                "LLM request to %s failed (attempt %d/%d): %s",
                self.endpoint,
                attempt + 1,
                self.config.retries + 1,
                last,
            )
        raise LLMError(f"{self.endpoint}: no answer after {self.config.retries + 1} attempts; last error: {last}")

    def _post(self, body: bytes, headers: dict[str, str]) -> str:
        self.requests += 1
        request = urllib.request.Request(self.endpoint, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
            raw = response.read()
        try:
            reply = json.loads(raw)
            message = reply["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as err:
            raise _BadResponse(f"malformed chat-completions response ({type(err).__name__}): {raw[:200]!r}") from err
        if isinstance(message, list):  # some servers return content parts
            message = "".join(p.get("text", "") for p in message if isinstance(p, dict))
        if not isinstance(message, str):
            raise _BadResponse(f"message content is {type(message).__name__}, expected text")
        return message


class _BadResponse(Exception):
    pass
