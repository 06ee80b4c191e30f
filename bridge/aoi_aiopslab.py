"""AOI as an AIOpsLab agent.

`AOIAgent` has the interface AIOpsLab's orchestrator drives (`init_context`, then
`async get_action(state) -> str` once per step). It runs the diagnosis in an AOI session on an
environment of kind `external`: AOI's agent decides each tool call, this class hands the call to
the orchestrator as the action string, and posts what the orchestrator answered back to AOI as the
call's output. When AOI's agent submits, the submission is returned as the final action.

Python 3 standard library only. See bridge/README.md.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Optional

# What AIOpsLab appends to every observation it sends the agent.
NEXT_ACTION = "Please take the next action"

# The most of one observation sent to AOI (AOI keeps 16 KiB of it for the agent).
MAX_OUTPUT_CHARS = 256 * 1024

# AIOpsLab's task texts open with "assigned to <goal> in a deployed service".
_TASK_GOALS = [
    ("detect anomalies", "detection"),
    ("localize faults", "localization"),
    ("root cause analysis", "analysis"),
    ("mitigate anomalies", "mitigation"),
]


class AOIBridgeError(RuntimeError):
    """The AOI API refused a request, or the AOI session ended without a submission.
    `status` is the HTTP status when AOI answered one."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status


def task_from_problem(problem_desc: str, overrides: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """Reads the task type, service name, namespace and description from AIOpsLab's problem
    description (`overrides` win). Raises AOIBridgeError naming what it could not find."""
    text = problem_desc or ""

    def field(name: str) -> Optional[str]:
        m = re.search(rf"^\s*{name}:\s*(.+?)\s*$", text, re.MULTILINE)
        return m.group(1) if m else None

    task = {
        "task_type": next((t for goal, t in _TASK_GOALS if goal in text.lower()), None),
        "namespace": field("Namespace"),
        "app_name": field("Service Name"),
        "app_description": field("Description") or "",
    }
    task.update({k: v for k, v in (overrides or {}).items() if v})
    wanted = {
        "task_type": "the task type (detect anomalies, localize faults, root cause analysis or mitigate anomalies)",
        "namespace": "a `Namespace:` line",
        "app_name": "a `Service Name:` line",
    }
    missing = [what for key, what in wanted.items() if not task.get(key)]
    if missing:
        raise AOIBridgeError(
            "the problem description lacks " + ", ".join(missing)
            + ": pass task_type, namespace or app_name to AOIAgent"
        )
    return task


def python_literal(value: Any) -> str:
    """A JSON value as a Python literal AIOpsLab's parser (ast) reads back as the same value."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        # A JSON string is a valid Python string literal (same escapes, \\uXXXX included).
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(python_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{json.dumps(str(k))}: {python_literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"not a JSON value: {value!r}")


def action_of(tool: str, args: Dict[str, Any]) -> str:
    """The call as AIOpsLab's reply format wants it: one fenced code block holding one call.
    One argument goes positionally (`exec_shell("kubectl get pods -n x")`); several go by
    keyword, so their order cannot matter (`get_logs(namespace="x", service="geo")`)."""
    if len(args) == 1:
        inner = python_literal(next(iter(args.values())))
    else:
        inner = ", ".join(f"{k}={python_literal(v)}" for k, v in args.items())
    return f"```\n{tool}({inner})\n```"


def observation_of(state: str) -> str:
    """The environment's answer inside AIOpsLab's state (without its trailing prompt)."""
    text = state or ""
    stripped = text.rstrip()
    if stripped.endswith(NEXT_ACTION):
        text = stripped[: -len(NEXT_ACTION)].rstrip("\n")
    return text


class AOIAgent:
    """An AIOpsLab agent that runs AOI through its API.

    Credentials: `api_key` (or `AOI_API_KEY`), else `username`/`password`/`tenant` (or
    `AOI_USERNAME`, `AOI_PASSWORD`, `AOI_TENANT`, tenant `default` when unset). Creating the
    environment needs a tenant admin (`manage_plugins`); pass `environment_id` to reuse one.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        api_key: Optional[str] = None,
        username: Optional[str] = None,
        password: Optional[str] = None,
        tenant: Optional[str] = None,
        task_type: Optional[str] = None,
        namespace: Optional[str] = None,
        app_name: Optional[str] = None,
        call_timeout_secs: Optional[int] = None,
        poll_ms: int = 10_000,
        session_timeout_s: float = 3600.0,
        http_timeout_s: float = 60.0,
    ) -> None:
        self.url = (url or os.environ.get("AOI_URL") or "http://127.0.0.1:8080").rstrip("/")
        self._api_key = api_key or os.environ.get("AOI_API_KEY")
        self._username = username or os.environ.get("AOI_USERNAME")
        self._password = password or os.environ.get("AOI_PASSWORD")
        self.tenant = tenant or os.environ.get("AOI_TENANT") or "default"
        if not self._api_key and not (self._username and self._password):
            raise AOIBridgeError(
                "no AOI credentials: pass api_key (or set AOI_API_KEY), or username and password "
                "(AOI_USERNAME, AOI_PASSWORD)"
            )
        self._overrides = {
            k: v
            for k, v in (("task_type", task_type), ("namespace", namespace), ("app_name", app_name))
            if v
        }
        self.call_timeout_secs = call_timeout_secs
        self.poll_ms = max(100, min(int(poll_ms), 30_000))
        self.session_timeout_s = session_timeout_s
        self.http_timeout_s = http_timeout_s
        self._token: Optional[str] = self._api_key
        self.incident_id: Optional[str] = None
        self.environment_id: Optional[str] = None
        self.session_id: Optional[str] = None
        self.submission: Optional[Dict[str, Any]] = None
        self._pending: Optional[str] = None
        self.history: list = []

    # --- HTTP ---------------------------------------------------------------------------------

    def _login(self) -> None:
        body = {"tenant": self.tenant, "username": self._username, "password": self._password}
        answer = self._request("POST", "/api/v1/auth/login", body, auth=False)
        self._token = answer["access_token"]

    def _request(self, method: str, path: str, body: Any = None, auth: bool = True,
                 timeout: Optional[float] = None, retry_login: bool = True) -> Any:
        if auth and self._token is None:
            self._login()
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if auth:
            request.add_header("Authorization", f"Bearer {self._token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.http_timeout_s) as resp:
                raw = resp.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code == 401 and auth and retry_login and not self._api_key:
                # The access token expired: log in again once.
                self._token = None
                return self._request(method, path, body, auth, timeout, retry_login=False)
            try:
                message = json.loads(detail)["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = detail[:500]
            raise AOIBridgeError(f"{method} {path} answered {e.code}: {message}", e.code) from None
        except urllib.error.URLError as e:
            raise AOIBridgeError(f"{method} {path}: AOI at {self.url} is unreachable ({e.reason})") from None

    # --- AIOpsLab's agent interface -------------------------------------------------------------

    def init_context(self, problem_desc: str, instructions: str, apis: Any = None) -> None:
        """Creates the incident, the external environment holding the task, and the session.
        `apis` (AIOpsLab's API documentation) is not needed: AOI documents the same APIs itself."""
        task = task_from_problem(problem_desc, self._overrides)
        text = (problem_desc or "").strip()
        if instructions:
            text = f"{text}\n\n{instructions.strip()}"
        config: Dict[str, Any] = dict(task, instructions=text)
        if self.call_timeout_secs:
            config["call_timeout_secs"] = int(self.call_timeout_secs)
        tag = uuid.uuid4().hex[:8]
        incident = self._request("POST", "/api/v1/incidents", {
            "title": f"AIOpsLab {task['task_type']}: {task['app_name']}",
            "severity": "warning",
            "namespace": task["namespace"],
            "labels": {"source": "aiopslab"},
        })
        self.incident_id = incident["id"]
        environment = self._request("POST", "/api/v1/environments", {
            "name": f"aiopslab-{task['task_type']}-{tag}",
            "kind": "external",
            "config": config,
        })
        self.environment_id = environment["id"]
        session = self._request(
            "POST",
            f"/api/v1/incidents/{self.incident_id}/sessions",
            {"environment_id": self.environment_id},
        )
        self.session_id = session["id"]
        self._pending = None
        self.submission = None
        self.history = []

    async def get_action(self, state: str) -> str:
        """Posts `state` as the output of the previous call, then waits for AOI's next call (or
        its submission) and returns it in AIOpsLab's reply format."""
        return await asyncio.to_thread(self.step, state)

    def step(self, state: str) -> str:
        """`get_action` without the event loop."""
        if self.session_id is None:
            raise AOIBridgeError("init_context must be called before get_action")
        if self._pending is not None:
            output = observation_of(state)
            is_error = output.lstrip().startswith(("[ERROR]", "Error"))
            try:
                self._request("POST", f"/api/v1/sessions/{self.session_id}/external/result", {
                    "call_id": self._pending,
                    "output": output[:MAX_OUTPUT_CHARS],
                    "is_error": is_error,
                })
                self.history[-1]["output"] = output
            except AOIBridgeError as e:
                # 409: the call is no longer pending (AOI stopped waiting for it); go on with
                # whatever AOI asks next.
                if e.status != 409:
                    raise
                self.history[-1]["output"] = output
                self.history[-1]["late"] = str(e)
            self._pending = None
        deadline = time.monotonic() + self.session_timeout_s
        while time.monotonic() < deadline:
            nxt = self._request(
                "GET",
                f"/api/v1/sessions/{self.session_id}/external/next?wait_ms={self.poll_ms}",
                timeout=self.http_timeout_s + self.poll_ms / 1000,
            )
            if nxt["state"] == "call":
                self._pending = nxt["call_id"]
                action = action_of(nxt["tool"], nxt.get("args") or {})
                self.history.append({"tool": nxt["tool"], "args": nxt.get("args") or {},
                                     "action": action, "access": nxt.get("access")})
                return action
            if nxt["state"] == "done":
                self.submission = nxt
                if not nxt.get("action"):
                    raise AOIBridgeError(
                        f"AOI session {self.session_id} ended ({nxt.get('status')}) without a submission"
                    )
                return f"```\n{nxt['action']}\n```"
        raise AOIBridgeError(
            f"AOI session {self.session_id} gave no call within {self.session_timeout_s:.0f} s"
        )

    def session(self) -> Dict[str, Any]:
        """The AOI session with its recorded steps."""
        return self._request("GET", f"/api/v1/sessions/{self.session_id}")
