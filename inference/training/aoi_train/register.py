"""Registering a trained adapter in AOI's model registry (``POST /api/v1/models/adapters``).

Standard library only (``urllib``). The API key comes from the ``AOI_API_KEY`` environment
variable and is sent as ``Authorization: Bearer <key>``; it is never printed.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any


class RegistrationError(RuntimeError):
    """The registry refused the adapter or could not be reached; the message says which."""


def register_adapter(
    base_url: str,
    name: str,
    base_model: str,
    source: str,
    notes: str,
    api_key: str | None = None,
    timeout_s: float = 30.0,
) -> dict[str, Any]:
    """POSTs ``{"name", "base_model", "source", "notes"}`` to ``{base_url}/api/v1/models/adapters``.

    Returns the decoded JSON answer (``{}`` for an empty body). Raises
    :class:`RegistrationError` on a non-2xx status (with the status and the body) or when the
    server cannot be reached. ``api_key`` defaults to ``$AOI_API_KEY``.
    """
    url = base_url.rstrip("/") + "/api/v1/models/adapters"
    body = json.dumps({"name": name, "base_model": base_model, "source": source, "notes": notes}).encode("utf-8")
    key = api_key if api_key is not None else os.environ.get("AOI_API_KEY")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            text = response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        detail = e.read().decode("utf-8", errors="replace")[:2000]
        hint = " (set AOI_API_KEY to an API key allowed to manage models)" if e.code in (401, 403) else ""
        raise RegistrationError(f"POST {url} answered {e.code} {e.reason}{hint}: {detail}") from None
    except (urllib.error.URLError, OSError) as e:
        raise RegistrationError(f"POST {url} failed: {e}; is the AOI server running at {base_url}?") from None
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"raw": text}
