"""A fake AIOpsLab orchestrator for testing the AOI bridge without a cluster.

It speaks AIOpsLab's protocol: `init_problem(problem_id)` gives the problem description, the
instructions and the API documentation; `start_problem(max_steps)` asks the registered agent
`await get_action(state)` in a loop, parses each reply with AIOpsLab's rules (the first fenced
code block, the API name before `(`, Python-literal arguments read with `ast`), executes it
against canned outputs of a small HotelReservation cluster in which one service (`geo`) runs a
buggy image and crash-loops, and sends the output back followed by "Please take the next
action". A parse error goes back as the next observation. `submit(...)` ends the episode and
is scored; so does the step limit. Two problems: localization (the faulty service must be
named) and mitigation (`kubectl set image` on geo's deployment to the app's common image fixes
the cluster; scored on the cluster's state after submit; every write is timed).

Run as a script (`python3 fake_orchestrator.py [PROBLEM_ID]`) it plays one episode with
`AOIAgent` against AOI at $AOI_URL and prints one line `AIOPSLAB_RESULT {json}`.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import shlex
import sys
import time
from typing import Any, Dict, List, Tuple

NAMESPACE = "test-hotel-reservation"
PROBLEM_ID = "misconfig_app_hotel_res-localization-1"
MITIGATION_ID = "misconfig_app_hotel_res-mitigation-1"
FAULTY = "geo"
GOOD_IMAGE = "yinfangchen/hotelreservation:latest"
BUGGY_IMAGE = "yinfangchen/geo:app3"

PROBLEM_DESC = f"""You are an expert DevOps engineer assigned to localize faults in a deployed service.

Service Details:
Service Name: Hotel Reservation
Namespace: {NAMESPACE}
Description: A hotel reservation application built with Go and gRPC, providing backend in-memory and persistent databases, a recommender system for hotel recommendations, and a functionality to place reservations.
Supported Operations:
  - Get profile and rates of nearby hotels available during given time periods
  - Recommend hotels based on user provided metrics
  - Place reservations

You will begin by analyzing the service's state and telemetry, and then submit one of two possible solutions:
1. list[str]: list of faulty components (i.e., service names)
2. list[]: an empty list if no faults were detected
"""

MITIGATION_DESC = f"""You are an expert DevOps engineer assigned to mitigate anomalies in a deployed service.

Service Details:
Service Name: Hotel Reservation
Namespace: {NAMESPACE}
Description: A hotel reservation application built with Go and gRPC, providing backend in-memory and persistent databases, a recommender system for hotel recommendations, and a functionality to place reservations.
Supported Operations:
  - Get profile and rates of nearby hotels available during given time periods
  - Recommend hotels based on user provided metrics
  - Place reservations

You will begin by analyzing the service's state and telemetry, and then submit a solution that mitigates any detected anomalies.
Your mitigation can be performed using any of the available APIs.
"""

INSTRUCTIONS = """You will respond with one of the above APIs as your next action.
Please respond in the following format in a markdown code block:
```
<API_NAME>(<API_PARAM1>, <API_PARAM2> ...)
```

For instance, if you want to list files in current directory, your response must be exactly:

```
exec_shell("ls -l")
```

Please respond with only a single API call (a.k.a., action) per turn without any additional words, labels, or prefixes.
"""

APIS = {
    "get_logs": "Collects relevant log data from a pod using Kubectl or from a container with Docker.\n\n    Args:\n        namespace (str): The namespace in which the service is running.\n        service (str): The name of the service.\n\n    Returns:\n        str | dict | list[dicts]: Log data as a structured object or a string.",
    "get_metrics": "Collects metrics data from the service using Prometheus.\n\n    Args:\n        namespace (str): The namespace in which the service is running.\n        duration (int): The number of minutes from now to start collecting metrics until now.\n\n    Returns:\n        str: Path to the directory where metrics are saved.",
    "read_metrics": "Reads and returns metrics from a specified CSV file.\n\n    Args:\n        file_path (str): Path to the metrics file (CSV format).\n\n    Returns:\n        str: The requested metrics or an error message.",
    "get_traces": "Collects trace data from the service using Jaeger.\n\n    Args:\n        namespace (str): The namespace in which the service is running.\n        duration (int): The number of minutes from now to start collecting traces until now.\n\n    Returns:\n        str: Path to the directory where traces are saved.",
    "read_traces": "Reads and returns traces from a specified CSV file.\n\n    Args:\n        file_path (str): Path to the traces file (CSV format).\n\n    Returns:\n        str: The requested traces or an error message.",
    "exec_shell": "Execute any shell command in a predefined debugging environment.\n    Note: this is NOT A STATEFUL OR INTERACTIVE shell session. So you cannot\n    execute commands like \"kubectl edit\".\n\n    Args:\n        command (str): The command to execute.\n        timeout (int): Timeout in seconds for the command execution. Default is 30.\n\n    Returns:\n        str: The output of the command.",
    "submit": "Submit the detected faulty components to the orchestrator for evaluation.\n\n    Args:\n        faulty_components (list[str]): List of faulty components (i.e., service names).\n\n    Returns:\n        SubmissionStatus: The status of the submission.",
}

NEXT_ACTION = "Please take the next action"


class ResponseParsingError(Exception):
    """AIOpsLab's parse failure; its text goes back to the agent."""


class ResponseParser:
    """AIOpsLab's reply parser (aiopslab/orchestrator/parser.py), same rules."""

    def parse(self, response: str) -> Dict[str, Any]:
        code_block = self.extract_codeblock(response)
        api_name = self.parse_api_name(code_block)
        args, kwargs = self.parse_args(code_block)
        return {"api_name": api_name, "args": args, "kwargs": kwargs}

    def extract_codeblock(self, response: str) -> str:
        lines = response.split("\n")
        fences = [i for i, line in enumerate(lines) if "```" in line]
        if len(fences) < 2:
            return ""
        return "\n".join(lines[fences[0] + 1 : fences[1]])

    def parse_api_name(self, code: str) -> str:
        first = code.find("(")
        return code[:first].strip() if first != -1 else ""

    def parse_args(self, code: str) -> Tuple[List[Any], Dict[str, Any]]:
        first, last = code.find("("), code.rfind(")")
        if first == -1 or last == -1:
            raise ResponseParsingError("No API call found!")
        args_str = code[first + 1 : last].strip()
        if not args_str:
            return [], {}
        try:
            call = ast.parse(f"func({args_str})").body[0].value
            args = [self.eval_node(a) for a in call.args]
            kwargs = {k.arg: self.eval_node(k.value) for k in call.keywords}
            return args, kwargs
        except Exception as e:  # noqa: BLE001 - AIOpsLab turns any failure into this error
            raise ResponseParsingError(f"Error parsing arguments: {e}") from None

    def eval_node(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, (ast.List, ast.Tuple)):
            return [self.eval_node(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {self.eval_node(k): self.eval_node(v) for k, v in zip(node.keys, node.values)}
        raise ResponseParsingError(f"Unsupported argument type: {type(node).__name__}")


# --- the fake HotelReservation cluster ------------------------------------------------------------

SERVICES = [
    "consul", "frontend", "geo", "jaeger", "memcached-profile", "memcached-rate",
    "memcached-reserve", "mongodb-geo", "mongodb-profile", "mongodb-rate",
    "mongodb-recommendation", "mongodb-reservation", "mongodb-user", "profile", "rate",
    "recommendation", "reservation", "search", "user",
]
PORTS = {
    "consul": "8300/TCP,8400/TCP,8500/TCP,8600/UDP", "frontend": "5000/TCP", "geo": "8083/TCP",
    "jaeger": "14269/TCP,5778/TCP,14268/TCP,14267/TCP,16686/TCP,5775/UDP,6831/UDP,6832/UDP",
    "profile": "8081/TCP", "rate": "8084/TCP", "recommendation": "8085/TCP",
    "reservation": "8087/TCP", "search": "8082/TCP", "user": "8086/TCP",
}


def _hash(name: str, n: int) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    h = 0
    for ch in name:
        h = (h * 131 + ord(ch)) % (1 << 61)
    out = ""
    for _ in range(n):
        out += alphabet[h % len(alphabet)]
        h //= len(alphabet)
    return out


def pod_name(svc: str) -> str:
    return f"{svc}-{_hash(svc, 10)[:9]}c7-{_hash(svc + '/pod', 5)}"


def port_of(svc: str) -> str:
    if svc in PORTS:
        return PORTS[svc]
    if svc.startswith("mongodb-"):
        return "27017/TCP"
    return "11211/TCP"


def _table(rows: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "   ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip() for r in rows
    ) + "\n"


class FakeHotelCluster:
    """Canned answers of a HotelReservation namespace whose `geo` runs a buggy image."""

    def __init__(self) -> None:
        self.executed: List[Tuple[str, str]] = []
        self.geo_image = BUGGY_IMAGE
        # (command, time) of every state-changing command run.
        self.writes: List[Tuple[str, float]] = []

    @property
    def broken(self) -> bool:
        return self.geo_image != GOOD_IMAGE

    def _write(self, words: List[str], command: str) -> str:
        """The few writes this fake understands: `set image` on geo's deployment."""
        self.writes.append((command, time.time()))
        if words[1:3] == ["set", "image"] and len(words) > 4 and words[3] in ("deployment/geo", "deploy/geo"):
            container, _, image = words[4].partition("=")
            if container != "hotel-reserv-geo" or not image:
                return f'[ERROR] Command execution failed: error: unable to find container named "{container}"'
            self.geo_image = image
            return "deployment.apps/geo image updated\n"
        return f"[ERROR] Command execution failed: this fake cluster does not answer `{command}`"

    # The APIs the agent may call.
    def get_logs(self, namespace: str, service: str) -> str:
        if namespace != NAMESPACE or service not in SERVICES:
            return "Error: Your service/namespace does not exist. Use kubectl to check."
        return self._logs(service)

    def get_metrics(self, namespace: str, duration: int = 5) -> str:
        return f"Metrics data exported to directory: /tmp/aiopslab/metrics/{namespace}"

    def read_metrics(self, file_path: str) -> str:
        return f"error: Metrics file '{file_path}' not found."

    def get_traces(self, namespace: str, duration: int = 5) -> str:
        return f"Traces data exported to: /tmp/aiopslab/traces/{namespace}/traces.csv"

    def read_traces(self, file_path: str) -> str:
        return "trace_id,span_id,parent_span,service_name,operation_name,start_time,duration,has_error,response\n"

    def exec_shell(self, command: str, timeout: int = 30) -> str:
        try:
            words = shlex.split(command)
        except ValueError as e:
            return f"[ERROR] Command execution failed: {e}"
        if not words or words[0] != "kubectl":
            return f"[ERROR] Command execution failed: bash: {words[0] if words else ''}: command not found"
        follow = words[1:2] == ["logs"] and ("-f" in words or "--follow" in words)
        if words[1:2] in (["edit"], ["port-forward"]) or follow:
            return "[ERROR] Command execution failed: interactive commands are not supported"
        ns = NAMESPACE
        if "-n" in words:
            i = words.index("-n")
            ns = words[i + 1] if i + 1 < len(words) else ""
        verb = words[1] if len(words) > 1 else ""
        rest = [w for w in words[2:] if not w.startswith("-")]
        if "-n" in words:
            rest = [w for w in rest if w != ns]
        if verb in ("get", "describe", "logs") and ns != NAMESPACE:
            return f"No resources found in {ns} namespace.\n"
        if verb == "get" and rest:
            return self._get(rest[0], "-o" in words and "wide" in words)
        if verb == "describe" and len(rest) >= 2 and rest[0] in ("pod", "pods", "po"):
            return self._describe(rest[1])
        if verb in ("set", "patch", "scale", "delete", "apply", "rollout", "label", "annotate", "create", "replace"):
            return self._write(words, command)
        if verb == "logs" and rest:
            name = rest[0].split("/", 1)[-1]
            svc = next((s for s in SERVICES if pod_name(s) == name), None)
            if svc is None:
                return f'[ERROR] Command execution failed: Error from server (NotFound): pods "{name}" not found'
            return self._logs(svc)
        return f"[ERROR] Command execution failed: this fake cluster does not answer `{command}`"

    # Canned views.
    def _get(self, resource: str, wide: bool) -> str:
        r = resource.split("/")[0]
        if r in ("pods", "pod", "po"):
            head = ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
            if wide:
                head += ["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]
            rows = [head]
            for i, svc in enumerate(SERVICES):
                if svc == FAULTY and self.broken:
                    row = [pod_name(svc), "0/1", "CrashLoopBackOff", "5 (41s ago)", "4m12s"]
                elif svc == FAULTY:
                    row = [pod_name(svc), "1/1", "Running", "0", "12s"]
                else:
                    row = [pod_name(svc), "1/1", "Running", "0", "28m"]
                if wide:
                    row += [f"10.244.1.{20 + i}", "kind-worker", "<none>", "<none>"]
                rows.append(row)
            return _table(rows)
        if r in ("deployments", "deployment", "deploy"):
            head = ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
            if wide:
                head += ["CONTAINERS", "IMAGES", "SELECTOR"]
            rows = [head]
            for svc in SERVICES:
                down = svc == FAULTY and self.broken
                row = [svc, "0/1" if down else "1/1", "1", "0" if down else "1", "28m"]
                if wide:
                    image = self.geo_image if svc == FAULTY else GOOD_IMAGE
                    row += [f"hotel-reserv-{svc}", image, f"io.kompose.service={svc}"]
                rows.append(row)
            return _table(rows)
        if r in ("events", "event", "ev"):
            pod = pod_name(FAULTY)
            if not self.broken:
                return f"No resources found in {NAMESPACE} namespace.\n"
            rows = [
                ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
                ["4m12s", "Normal", "Pulled", f"pod/{pod}", f'Successfully pulled image "{BUGGY_IMAGE}" in 1.2s'],
                ["41s", "Warning", "BackOff", f"pod/{pod}",
                 f"Back-off restarting failed container hotel-reserv-geo in pod {pod}_{NAMESPACE}(5b0c7c2e-3a51-4d55-9c61-1d2f6f0b8e11)"],
            ]
            return _table(rows)
        if r in ("services", "service", "svc"):
            rows = [["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]]
            for i, svc in enumerate(SERVICES):
                rows.append([svc, "ClusterIP", f"10.96.{i}.{10 + i}", "<none>", port_of(svc), "28m"])
            return _table(rows)
        if r in ("endpoints", "endpoint", "ep"):
            rows = [["NAME", "ENDPOINTS", "AGE"]]
            for i, svc in enumerate(SERVICES):
                port = port_of(svc).split(",")[0].split("/")[0]
                eps = "<none>" if svc == FAULTY and self.broken else f"10.244.1.{20 + i}:{port}"
                rows.append([svc, eps, "28m"])
            return _table(rows)
        if r in ("nodes", "node", "no"):
            return _table([
                ["NAME", "STATUS", "ROLES", "AGE", "VERSION"],
                ["kind-control-plane", "Ready", "control-plane", "2h", "v1.32.0"],
                ["kind-worker", "Ready", "<none>", "2h", "v1.32.0"],
            ])
        return f"No resources found in {NAMESPACE} namespace.\n"

    def _describe(self, name: str) -> str:
        svc = next((s for s in SERVICES if pod_name(s) == name), None)
        if svc is None:
            return f'[ERROR] Command execution failed: Error from server (NotFound): pods "{name}" not found'
        broken = svc == FAULTY and self.broken
        image = self.geo_image if svc == FAULTY else GOOD_IMAGE
        port = port_of(svc).split(",")[0]
        if broken:
            state = (
                "    State:          Waiting\n"
                "      Reason:       CrashLoopBackOff\n"
                "    Last State:     Terminated\n"
                "      Reason:       Error\n"
                "      Exit Code:    2\n"
                "      Started:      Tue, 13 Jan 2026 12:33:55 +0000\n"
                "      Finished:     Tue, 13 Jan 2026 12:33:56 +0000\n"
                "    Ready:          False\n"
                "    Restart Count:  5\n"
            )
            events = (
                "Events:\n"
                "  Type     Reason   Age                  From     Message\n"
                "  ----     ------   ----                 ----     -------\n"
                f"  Normal   Pulled   4m12s                kubelet  Successfully pulled image \"{image}\" in 1.2s\n"
                f"  Warning  BackOff  41s (x20 over 4m10s)  kubelet  Back-off restarting failed container hotel-reserv-geo in pod {name}_{NAMESPACE}(5b0c7c2e-3a51-4d55-9c61-1d2f6f0b8e11)\n"
            )
        else:
            state = (
                "    State:          Running\n"
                "      Started:      Tue, 13 Jan 2026 12:10:02 +0000\n"
                "    Ready:          True\n"
                "    Restart Count:  0\n"
            )
            events = "Events:                      <none>\n"
        return (
            f"Name:             {name}\n"
            f"Namespace:        {NAMESPACE}\n"
            "Priority:         0\n"
            "Service Account:  default\n"
            "Node:             kind-worker/172.18.0.2\n"
            "Start Time:       Tue, 13 Jan 2026 12:10:00 +0000\n"
            f"Labels:           io.kompose.service={svc}\n"
            "Status:           Running\n"
            "IP:               10.244.1.22\n"
            f"Controlled By:  ReplicaSet/{name.rsplit('-', 1)[0]}\n"
            "Containers:\n"
            f"  hotel-reserv-{svc}:\n"
            "    Container ID:  containerd://4f1d2c\n"
            f"    Image:         {image}\n"
            f"    Port:          {port}\n"
            "    Host Port:     0/TCP\n"
            f"    Command:\n      {svc}\n"
            f"{state}"
            "    Limits:\n      cpu:  1\n    Requests:\n      cpu:        100m\n"
            "    Environment:\n      JAEGER_SAMPLE_RATIO:  1\n"
            "Conditions:\n"
            "  Type                        Status\n"
            f"  PodReadyToStartContainers   True\n  Initialized                 True\n"
            f"  Ready                       {'False' if broken else 'True'}\n"
            f"  ContainersReady             {'False' if broken else 'True'}\n"
            "  PodScheduled                True\n"
            "QoS Class:                   Burstable\n"
            "Node-Selectors:              <none>\n"
            "Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
            f"{events}"
        )

    def _logs(self, svc: str) -> str:
        if svc.startswith("mongodb-"):
            return (
                '{"t":{"$date":"2026-01-13T12:10:05.120+00:00"},"s":"I",  "c":"NETWORK",  "id":23016,   "ctx":"listener","msg":"Waiting for connections","attr":{"port":27017,"ssl":"off"}}\n'
                '{"t":{"$date":"2026-01-13T12:33:55.410+00:00"},"s":"I",  "c":"NETWORK",  "id":22943,   "ctx":"listener","msg":"Connection accepted","attr":{"remote":"10.244.1.22:51234","connectionCount":3}}\n'
            )
        lines = [
            '{"level":"info","time":"2026-01-13T12:33:55Z","message":"TLS disabled."}',
            '{"level":"info","time":"2026-01-13T12:33:55Z","message":"Set global log level: info"}',
            f"2026-01-13T12:33:55Z INF cmd/{svc}/main.go:23 > Reading config...",
            f"2026-01-13T12:33:55Z INF cmd/{svc}/main.go:36 > Read database URL: mongodb-{svc}:27017",
        ]
        if svc == FAULTY and self.broken:
            lines += [
                "2026-01-13T12:33:55Z INF cmd/geo/main.go:38 > Initializing DB connection...",
                "panic: runtime error: invalid memory address or nil pointer dereference",
                "[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x9a4c2f]",
                "",
                "goroutine 1 [running]:",
                "main.main()",
                "\t/go/src/github.com/harlow/go-micro-services/cmd/geo/main.go:41 +0x2af",
            ]
        else:
            lines.append(f"2026-01-13T12:33:56Z INF cmd/{svc}/main.go:60 > Starting server...")
        return "\n".join(lines) + "\n"


class FakeOrchestrator:
    """AIOpsLab's Orchestrator, as far as an agent can tell."""

    def __init__(self) -> None:
        self.agent = None
        self.agent_name = None
        self.parser = ResponseParser()
        self.cluster = FakeHotelCluster()
        self.problem_id = None
        self.trace: List[Dict[str, Any]] = []

    def register_agent(self, agent: Any, name: str = "agent") -> None:
        self.agent = agent
        self.agent_name = name

    def init_problem(self, problem_id: str) -> Tuple[str, str, Dict[str, str]]:
        descs = {PROBLEM_ID: PROBLEM_DESC, MITIGATION_ID: MITIGATION_DESC}
        if problem_id not in descs:
            raise ValueError(f"this fake knows only {', '.join(descs)}")
        self.problem_id = problem_id
        apis = dict(APIS)
        if problem_id == MITIGATION_ID:
            apis["submit"] = "Submit once the anomalies are mitigated.\n\n    Returns:\n        SubmissionStatus: The status of the submission."
        return descs[problem_id], INSTRUCTIONS, apis

    def ask_env(self, action: str) -> Tuple[str, Any]:
        """(the environment's answer, the submission when the action was a valid submit)."""
        try:
            parsed = self.parser.parse(action)
        except ResponseParsingError as e:
            return str(e), None
        api, args, kwargs = parsed["api_name"], parsed["args"], parsed["kwargs"]
        if api == "submit":
            if self.problem_id == MITIGATION_ID:
                return "VALID_SUBMISSION", args
            solution = args[0] if len(args) == 1 else kwargs.get("faulty_components", args)
            if not isinstance(solution, list):
                return "[ERROR] Invalid submission: submit a list of service names", None
            return "VALID_SUBMISSION", solution
        if api not in APIS:
            return f"[ERROR] Unknown API: {api}", None
        try:
            out = getattr(self.cluster, api)(*args, **kwargs)
        except TypeError as e:
            return f"[ERROR] {e}", None
        self.cluster.executed.append((api, out))
        return out, None

    async def start_problem(self, max_steps: int) -> Dict[str, Any]:
        assert self.agent is not None, "register an agent first"
        started = time.time()
        action_instr = NEXT_ACTION
        submission = None
        steps = 0
        for _ in range(max_steps):
            action = await self.agent.get_action(action_instr)
            steps += 1
            env_response, submission = self.ask_env(action)
            self.trace.append({"action": action, "response": env_response})
            if submission is not None:
                break
            action_instr = env_response + "\n" + NEXT_ACTION
        if self.problem_id == MITIGATION_ID:
            success = submission is not None and not self.cluster.broken
        else:
            success = submission is not None and submission == [FAULTY]
        return {
            "problem_id": self.problem_id,
            "agent": self.agent_name,
            "success": success,
            "submission": submission,
            "steps": steps,
            "max_steps": max_steps,
            "executed": len(self.cluster.executed),
            "writes": [{"command": c, "at": t} for c, t in self.cluster.writes],
            "time_s": round(time.time() - started, 3),
            "trace": self.trace,
        }


def run_episode(problem_id: str = PROBLEM_ID, max_steps: int = 40) -> Dict[str, Any]:
    """One episode of AOIAgent (credentials from the environment) on the fake."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from aoi_aiopslab import AOIAgent  # noqa: E402

    agent = AOIAgent(poll_ms=2_000, session_timeout_s=300)
    orchestrator = FakeOrchestrator()
    orchestrator.register_agent(agent, name="aoi")
    problem_desc, instructions, apis = orchestrator.init_problem(problem_id)
    agent.init_context(problem_desc, instructions, apis)
    result = asyncio.run(orchestrator.start_problem(max_steps=max_steps))
    result["session_id"] = agent.session_id
    result["aoi_submission"] = agent.submission
    return result


if __name__ == "__main__":
    problem = sys.argv[1] if len(sys.argv) > 1 else PROBLEM_ID
    print("AIOPSLAB_RESULT " + json.dumps(run_episode(problem)), flush=True)
