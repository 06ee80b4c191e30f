"""Everything the smoke run needs, built in code (nothing read from disk or the network):
a byte-level tokenizer, a tiny randomly initialised Llama-style causal LM, and a synthetic
GRPO export in the dataset contract's format.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from datetime import UTC, datetime
from pathlib import Path

from .chat import encode_example
from .grpo import group_advantages

#: Byte values 0..255, then the three special tokens.
BOS_ID, EOS_ID, PAD_ID = 256, 257, 258
VOCAB_SIZE = 259


class ByteTokenizer:
    """UTF-8 bytes as token ids 0..255, plus BOS (256), EOS (257) and PAD (258).

    It has no chat template, so :mod:`aoi_train.chat` uses its plain template.
    """

    chat_template = None
    bos_token_id = BOS_ID
    eos_token_id = EOS_ID
    pad_token_id = PAD_ID
    vocab_size = VOCAB_SIZE

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        """Token ids of ``text`` (BOS first when ``add_special_tokens``)."""
        ids = list(text.encode("utf-8"))
        return [BOS_ID] + ids if add_special_tokens else ids

    def decode(self, ids: list[int]) -> str:
        """Text of ``ids``; special tokens are dropped."""
        return bytes(i for i in ids if i < 256).decode("utf-8", errors="replace")


def tiny_model(seed: int = 0, max_positions: int = 1024):
    """A randomly initialised Llama causal LM: hidden 64, 2 layers, 4 heads, vocab 259."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=VOCAB_SIZE, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=max_positions,
        bos_token_id=BOS_ID, eos_token_id=EOS_ID, pad_token_id=PAD_ID, tie_word_embeddings=False,
    )
    return LlamaForCausalLM(config)


_SERVICES = ["checkout", "payments", "geo", "profile", "rate", "search", "user", "frontend"]
_FAULTS = ["CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "high latency"]


def write_synthetic_grpo(out_dir: str | Path, groups: int = 24, group_size: int = 4, seed: int = 0) -> Path:
    """Writes a synthetic GRPO export (``manifest.json`` + ``grpo.jsonl``) into ``out_dir``.

    Each group is one made-up incident with ``group_size`` candidate Observer replies; the
    reward is 1 for naming the faulty service, 0.3 for a well-formed reply naming another,
    0 for an unparsable one. About half the rows carry per-token ``logprobs`` aligned with the
    byte tokenizer (near the uniform ``-log 259`` a random model gives), the rest ``null``.
    """
    rng = random.Random(seed)
    tok = ByteTokenizer()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for g in range(groups):
        service = rng.choice(_SERVICES)
        fault = rng.choice(_FAULTS)
        problem_id = f"synthetic-{service}-{g}"
        prompt = [
            {"role": "system", "content": "You are the Observer. Reply with one JSON object."},
            {"role": "user", "content": f"Alert: a pod of `{service}` reports {fault}. What next?"},
        ]
        rewards, completions = [], []
        for _ in range(group_size):
            pick = rng.random()
            if pick < 0.4:
                target, reward = service, 1.0
                text = json.dumps({"next_action": "probe", "target": target})
            elif pick < 0.8:
                target, reward = rng.choice([s for s in _SERVICES if s != service]), 0.3
                text = json.dumps({"next_action": "probe", "target": target})
            else:
                text, reward = f"maybe look at {service}?", 0.0
            completions.append([{"role": "assistant", "content": text}])
            rewards.append(reward)
        advantages = group_advantages(rewards)
        for k, (completion, reward, adv) in enumerate(zip(completions, rewards, advantages, strict=True)):
            logprobs = None
            if k % 2 == 0:
                _, ids = encode_example(tok, prompt, completion)
                logprobs = [round(-math.log(VOCAB_SIZE) + rng.uniform(-0.05, 0.05), 6) for _ in ids]
            rows.append({
                "prompt": prompt, "completion": completion, "reward": reward, "advantage": adv,
                "group_id": f"{problem_id}#0", "problem_id": problem_id,
                "session_id": f"smoke-session-{g}", "step": 0, "role": "observer", "logprobs": logprobs,
            })
    data = "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")
    (out / "grpo.jsonl").write_bytes(data)
    manifest = {
        "format": "aoi-dataset", "version": 1, "kind": "grpo", "tenant": "smoke",
        "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generator": "aoi_train smoke",
        "files": [{"path": "grpo.jsonl", "rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}],
        "counts": {"rows": len(rows), "groups": groups, "sessions": groups},
        "source_sessions": sorted({r["session_id"] for r in rows}),
        "reward_weights": {"synthetic": 1.0},
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out
