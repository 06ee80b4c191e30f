"""Reading an AOI dataset export: ``manifest.json`` plus JSONL files.

The contract (shared with the Rust exporter, ``learning/src/dataset.rs``) is copied in the
README. :func:`load_export` checks, in order:

1. ``manifest.json`` parses and has ``format == "aoi-dataset"``, ``version == 1`` and a known
   ``kind``;
2. every listed file exists, its sha256 matches the manifest and it holds the listed number of
   rows (non-empty lines); ``counts.rows`` (and ``counts.groups`` for GRPO) match the files;
3. every row is a JSON object with exactly the documented fields of its kind, each of the right
   type, and the checks the Rust side makes (non-empty message lists, assistant-only
   completions, finite numbers, ``group_id == "<problem_id>#<n>"``).

Every row problem raises :class:`DatasetError` whose message starts with ``file:line:`` and
names the field, e.g. ``grpo.jsonl:3: field `reward`: missing``.

One deliberate leniency: a GRPO row may omit ``advantage`` (or set it to ``null``); the
trainer then recomputes group advantages (``grpo.group_advantages``) for the whole dataset.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FORMAT = "aoi-dataset"
VERSION = 1
KINDS = ("grpo", "sft", "dpo")
MESSAGE_ROLES = ("system", "user", "assistant")
AGENT_ROLES = ("observer", "probe", "executor", "compressor")

#: The documented fields of a row, per kind; a row has exactly these.
FIELDS: dict[str, tuple[str, ...]] = {
    "grpo": (
        "prompt", "completion", "reward", "advantage", "group_id", "problem_id",
        "session_id", "step", "role", "logprobs",
    ),
    "sft": ("messages", "source", "session_id", "problem_id"),
    "dpo": ("prompt", "chosen", "rejected", "signal_id", "session_id"),
}

#: Fields a row may leave out (the trainer fills them in).
OPTIONAL_FIELDS: dict[str, tuple[str, ...]] = {"grpo": ("advantage",), "sft": (), "dpo": ()}


class DatasetError(ValueError):
    """An export that cannot be used; the message says which file (and line) and why."""


class _FieldError(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class GrpoRow:
    """One GRPO completion with its reward and (possibly absent) advantage."""

    prompt: list[dict[str, str]]
    completion: list[dict[str, str]]
    reward: float
    advantage: float | None
    group_id: str
    problem_id: str
    session_id: str
    step: int
    role: str
    logprobs: list[float] | None
    #: Where it came from, ``file:line``, for messages.
    origin: str = ""


@dataclass
class Export:
    """A validated export."""

    dir: Path
    manifest: dict[str, Any]
    #: sha256 of the ``manifest.json`` bytes: identifies the dataset in ``summary.json``.
    manifest_sha256: str
    kind: str
    #: The parsed rows: :class:`GrpoRow` for GRPO, plain dicts for SFT and DPO.
    rows: list[Any] = field(default_factory=list)

    def groups(self) -> dict[str, list[GrpoRow]]:
        """GRPO rows grouped by ``group_id``, groups and rows in file order."""
        if self.kind != "grpo":
            raise DatasetError(f"{self.dir}: a {self.kind} export has no GRPO groups")
        out: dict[str, list[GrpoRow]] = {}
        for row in self.rows:
            out.setdefault(row.group_id, []).append(row)
        return out


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_export(directory: str | Path, expect_kind: str | None = None) -> Export:
    """Reads and validates the export in ``directory`` (see the module doc for the checks).

    ``expect_kind`` (e.g. ``"grpo"``) makes any other kind an error.
    """
    root = Path(directory)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise DatasetError(f"{manifest_path}: missing; is {root} an AOI dataset export?")
    raw = manifest_path.read_bytes()
    try:
        manifest = json.loads(raw)
    except json.JSONDecodeError as e:
        raise DatasetError(f"manifest.json: not valid JSON: {e}") from e
    _check_manifest(manifest)
    kind = manifest["kind"]
    if expect_kind is not None and kind != expect_kind:
        raise DatasetError(f"manifest.json: field `kind`: this recipe needs a {expect_kind} export, got {kind}")

    export = Export(root, manifest, hashlib.sha256(raw).hexdigest(), kind)
    total = 0
    for entry in manifest["files"]:
        rel = entry["path"]
        path = root / rel
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise DatasetError(f"manifest.json: file path `{rel}` must be relative and inside the export")
        if not path.is_file():
            raise DatasetError(f"{rel}: listed in manifest.json but missing from {root}")
        actual = sha256_file(path)
        if actual != entry["sha256"].lower():
            raise DatasetError(
                f"{rel}: sha256 is {actual} but the manifest says {entry['sha256']}: "
                "the file changed after export; export again"
            )
        rows = _read_rows(path, rel, kind)
        if len(rows) != entry["rows"]:
            raise DatasetError(f"{rel}: the manifest says {entry['rows']} rows, the file holds {len(rows)}")
        export.rows.extend(rows)
        total += len(rows)

    counts = manifest["counts"]
    if counts.get("rows") != total:
        raise DatasetError(f"manifest.json: field `counts.rows` says {counts.get('rows')}, the files hold {total}")
    if kind == "grpo" and "groups" in counts:
        groups = len({r.group_id for r in export.rows})
        if counts["groups"] != groups:
            raise DatasetError(f"manifest.json: field `counts.groups` says {counts['groups']}, the files hold {groups}")
    return export


def _check_manifest(m: Any) -> None:
    def bad(name: str, why: str) -> DatasetError:
        return DatasetError(f"manifest.json: field `{name}`: {why}")

    if not isinstance(m, dict):
        raise DatasetError("manifest.json: must be a JSON object")
    for name in ("format", "version", "kind", "files", "counts"):
        if name not in m:
            raise bad(name, "missing")
    if m["format"] != FORMAT:
        raise bad("format", f"must be `{FORMAT}`, got {m['format']!r}")
    if m["version"] != VERSION:
        raise bad("version", f"this recipe reads version {VERSION}, got {m['version']!r}")
    if m["kind"] not in KINDS:
        raise bad("kind", f"must be one of {', '.join(KINDS)}, got {m['kind']!r}")
    if not isinstance(m["files"], list) or not m["files"]:
        raise bad("files", "must be a non-empty list")
    for i, entry in enumerate(m["files"]):
        if not isinstance(entry, dict):
            raise bad(f"files[{i}]", "must be an object")
        if not isinstance(entry.get("path"), str) or not entry["path"]:
            raise bad(f"files[{i}].path", "must be a non-empty string")
        if not _is_int(entry.get("rows")) or entry["rows"] < 0:
            raise bad(f"files[{i}].rows", "must be a non-negative integer")
        if not isinstance(entry.get("sha256"), str) or len(entry["sha256"]) != 64:
            raise bad(f"files[{i}].sha256", "must be 64 hex digits")
    if not isinstance(m["counts"], dict) or not _is_int(m["counts"].get("rows")):
        raise bad("counts.rows", "must be an integer")


def _read_rows(path: Path, rel: str, kind: str) -> list[Any]:
    rows: list[Any] = []
    with path.open("r", encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                rows.append(parse_row(line, kind, origin=f"{rel}:{line_no}"))
            except _FieldError as e:
                where = f"field `{e.field}`: " if e.field else ""
                raise DatasetError(f"{rel}:{line_no}: {where}{e.message}") from None
    return rows


def parse_row(line: str, kind: str, origin: str = "") -> Any:
    """Parses one JSONL line of ``kind``; raises ``_FieldError`` naming the field."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise _FieldError("", f"not valid JSON: {e}") from None
    if not isinstance(obj, dict):
        raise _FieldError("", "a row must be a JSON object")
    fields = FIELDS[kind]
    for name in fields:
        if name not in obj and name not in OPTIONAL_FIELDS[kind]:
            raise _FieldError(name, "missing")
    for name in obj:
        if name not in fields:
            raise _FieldError(name, f"unknown field; a {kind} row has {', '.join(fields)}")
    if kind == "grpo":
        return _grpo_row(obj, origin)
    if kind == "sft":
        _messages(obj, "messages")
        if obj["messages"][-1]["role"] != "assistant":
            raise _FieldError("messages", "the last message must have role `assistant`")
        _enum(obj, "source", ("signal", "success"))
        _string(obj, "session_id")
        if obj["problem_id"] is not None:
            _string(obj, "problem_id")
        return obj
    _messages(obj, "prompt")
    _messages(obj, "chosen", assistant_only=True)
    _messages(obj, "rejected", assistant_only=True)
    if obj["chosen"] == obj["rejected"]:
        raise _FieldError("rejected", "is the same as `chosen`: no preference")
    _string(obj, "signal_id")
    _string(obj, "session_id")
    return obj


def _grpo_row(obj: dict[str, Any], origin: str) -> GrpoRow:
    _messages(obj, "prompt")
    _messages(obj, "completion", assistant_only=True)
    reward = _number(obj, "reward")
    advantage = None if obj.get("advantage") is None else _number(obj, "advantage")
    problem_id = _string(obj, "problem_id")
    session_id = _string(obj, "session_id")
    group_id = obj["group_id"]
    if not isinstance(group_id, str):
        raise _FieldError("group_id", "must be a string")
    problem, sep, n = group_id.rpartition("#")
    if not sep or problem != problem_id or not n.isdigit():
        raise _FieldError(
            "group_id", f"must be `<problem id>#<group n>` with problem id `{problem_id}`, got `{group_id}`"
        )
    step = obj["step"]
    if not _is_int(step) or step < 0:
        raise _FieldError("step", f"must be a non-negative integer, got {step!r}")
    role = _enum(obj, "role", AGENT_ROLES)
    logprobs = obj["logprobs"]
    if logprobs is not None:
        if not isinstance(logprobs, list):
            raise _FieldError("logprobs", "must be a list of numbers or null")
        for i, lp in enumerate(logprobs):
            if not isinstance(lp, (int, float)) or isinstance(lp, bool) or not math.isfinite(lp):
                raise _FieldError("logprobs", f"entry {i} is not a finite number")
        logprobs = [float(x) for x in logprobs]
    return GrpoRow(
        prompt=obj["prompt"], completion=obj["completion"], reward=reward, advantage=advantage,
        group_id=group_id, problem_id=problem_id, session_id=session_id, step=step, role=role,
        logprobs=logprobs, origin=origin,
    )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(obj: dict[str, Any], name: str) -> float:
    v = obj[name]
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        raise _FieldError(name, f"must be a number, got {v!r}")
    if not math.isfinite(v):
        raise _FieldError(name, f"must be a finite number, got {v}")
    return float(v)


def _string(obj: dict[str, Any], name: str) -> str:
    v = obj[name]
    if not isinstance(v, str):
        raise _FieldError(name, f"must be a string, got {v!r}")
    if not v.strip():
        raise _FieldError(name, "must not be empty")
    return v


def _enum(obj: dict[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    v = obj[name]
    if v not in allowed:
        raise _FieldError(name, f"must be one of {', '.join(allowed)}, got {v!r}")
    return v


def _messages(obj: dict[str, Any], name: str, assistant_only: bool = False) -> None:
    v = obj[name]
    if not isinstance(v, list) or not v:
        raise _FieldError(name, "must hold at least one message")
    for i, m in enumerate(v):
        if not isinstance(m, dict) or set(m) != {"role", "content"}:
            raise _FieldError(name, f"message {i} must be an object with exactly `role` and `content`")
        if m["role"] not in MESSAGE_ROLES:
            raise _FieldError(name, f"message {i} has role {m['role']!r}; use one of {', '.join(MESSAGE_ROLES)}")
        if not isinstance(m["content"], str):
            raise _FieldError(name, f"message {i}: `content` must be a string")
        if assistant_only and m["role"] != "assistant":
            raise _FieldError(name, f"message {i} must have role `assistant`")
