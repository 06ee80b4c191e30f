"""GRPO + LoRA training over an AOI GRPO export.

    python -m aoi_train.train --dataset DIR --base-model PATH --out DIR [options]
    python -m aoi_train.train --smoke --out DIR          # tiny random model, synthetic data

Writes into ``--out``: the LoRA adapter (``save_pretrained``), ``metrics.jsonl`` (one line per
optimiser step) and ``summary.json``. See the README for the recipe and its defaults.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .data import DatasetError, Export, load_export

#: Projection names (attention and MLP) of common decoder families; those the model has are
#: targeted by LoRA.
LORA_TARGET_CANDIDATES = (
    "q_proj", "k_proj", "v_proj", "o_proj", "qkv_proj", "gate_proj", "up_proj", "down_proj",
    "gate_up_proj", "c_attn", "c_proj", "c_fc", "query_key_value", "dense", "dense_h_to_4h",
    "dense_4h_to_h", "W_pack", "fc1", "fc2", "out_proj", "wq", "wk", "wv", "wo", "w1", "w2", "w3",
)

KL_TOLERANCE = 1e-6
#: Prompt and completion lengths are padded up to a multiple of this (fewer distinct shapes).
PAD_MULTIPLE = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see ``--help``)."""
    p = argparse.ArgumentParser(prog="python -m aoi_train.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", help="AOI GRPO export folder (manifest.json + grpo.jsonl)")
    p.add_argument("--base-model", help="local folder of the base model (never downloaded)")
    p.add_argument("--out", required=True, help="output folder for the adapter, metrics.jsonl, summary.json")
    p.add_argument("--lora-rank", type=int, default=64)
    p.add_argument("--lora-alpha", type=int, default=128)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--lr", type=float, default=1e-5)
    p.add_argument("--clip", type=float, default=0.2, help="PPO clip epsilon")
    p.add_argument("--kl-beta", type=float, default=0.04, help="KL coefficient (the paper used 0.1)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=4, help="completions per optimiser step")
    p.add_argument("--micro-batch-size", type=int, default=None,
                   help="completions per forward pass (gradient accumulation); default --batch-size")
    p.add_argument("--max-len", type=int, default=2048, help="prompt + completion tokens; longer completions are cut")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bf16", action="store_true", help="load the base model in bfloat16 (the adapter stays float32)")
    p.add_argument("--gradient-checkpointing", action="store_true", help="trade compute for memory on long rows")
    p.add_argument("--recompute-advantages", action="store_true",
                   help="recompute group advantages from rewards (automatic when a row lacks one)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimiser steps")
    p.add_argument("--overwrite", action="store_true", help="allow a non-empty --out")
    p.add_argument("--smoke", action="store_true",
                   help="tiny random model + byte tokenizer built in code; synthetic data unless --dataset")
    p.add_argument("--register", metavar="URL",
                   help="after training, register the adapter at URL (AOI API); key in $AOI_API_KEY")
    p.add_argument("--adapter-name", help="registry name (default: the --out folder's name)")
    p.add_argument("--base-model-name", help="registry base model name (default: the --base-model folder's name)")
    args = p.parse_args(argv)
    if not args.smoke and (not args.dataset or not args.base_model):
        p.error("--dataset and --base-model are required (or use --smoke)")
    if args.micro_batch_size is None:
        args.micro_batch_size = args.batch_size
    for name in ("lora_rank", "lora_alpha", "epochs", "batch_size", "micro_batch_size", "max_len"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if not 0 < args.clip < 1:
        p.error("--clip must be in (0, 1)")
    if args.kl_beta < 0 or args.lr <= 0:
        p.error("--kl-beta must be >= 0 and --lr > 0")
    return args


def lora_targets(model: Any) -> list[str]:
    """The names in :data:`LORA_TARGET_CANDIDATES` that are linear layers of ``model``
    (the output head excluded)."""
    import torch

    found = set()
    for name, module in model.named_modules():
        leaf = name.rsplit(".", 1)[-1]
        if isinstance(module, torch.nn.Linear) and leaf in LORA_TARGET_CANDIDATES and "lm_head" not in name:
            found.add(leaf)
    return sorted(found)


def encode_rows(export: Export, tokenizer: Any, max_len: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Tokenises every row; cuts completions to fit ``max_len``; drops rows whose prompt alone
    does not fit. Returns the encoded rows and counts for the summary."""
    from .chat import encode_example
    from .grpo import aligned_logprobs

    encoded, stats = [], {"rows_too_long_dropped": 0, "rows_truncated": 0,
                          "rows_with_logprobs": 0, "rows_logprobs_misaligned": 0}
    for row in export.rows:
        prompt_ids, completion_ids = encode_example(tokenizer, row.prompt, row.completion)
        old = aligned_logprobs(row.logprobs, len(completion_ids))
        if row.logprobs is not None and old is None:
            stats["rows_logprobs_misaligned"] += 1
        room = max_len - len(prompt_ids)
        if room < 1:
            stats["rows_too_long_dropped"] += 1
            continue
        if len(completion_ids) > room:
            stats["rows_truncated"] += 1
            completion_ids = completion_ids[:room]
            old = old[:room] if old is not None else None
        if old is not None:
            stats["rows_with_logprobs"] += 1
        encoded.append({"prompt": prompt_ids, "completion": completion_ids, "old": old,
                        "advantage": row.advantage, "reward": row.reward, "group_id": row.group_id})
    return encoded, stats


def batches(rows: list[dict[str, Any]], batch_size: int, rng: random.Random) -> list[list[dict[str, Any]]]:
    """One epoch: groups in shuffled order, each group's rows kept together, cut into batches."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(r["group_id"], []).append(r)
    order = list(groups)
    rng.shuffle(order)
    flat = [r for g in order for r in groups[g]]
    return [flat[i: i + batch_size] for i in range(0, len(flat), batch_size)]


def main(argv: list[str] | None = None) -> int:
    """Runs the recipe; returns the process exit code."""
    from .register import RegistrationError

    args = parse_args(argv)
    try:
        return _run(args)
    except (DatasetError, TrainingError, RegistrationError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


class TrainingError(RuntimeError):
    """A run that must stop; the message says why and what to do."""


def _run(args: argparse.Namespace) -> int:
    import torch

    from . import grpo

    started = time.time()
    out = Path(args.out).resolve()
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise TrainingError(f"{out} is not empty; choose a new folder or pass --overwrite")
    out.mkdir(parents=True, exist_ok=True)
    random.seed(args.seed)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if args.bf16 else torch.float32
    if args.bf16 and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise TrainingError("--bf16 asked for but this GPU has no bfloat16 support; drop --bf16")

    tmp = None
    dataset_dir = args.dataset
    if args.smoke and not dataset_dir:
        from .smoke import write_synthetic_grpo

        tmp = tempfile.TemporaryDirectory(prefix="aoi-smoke-data-")
        dataset_dir = str(write_synthetic_grpo(tmp.name, seed=args.seed))
    export = load_export(dataset_dir, expect_kind="grpo")
    groups = export.groups()
    recompute = args.recompute_advantages or any(r.advantage is None for r in export.rows)
    if recompute:
        for members in groups.values():
            for row, adv in zip(members, grpo.group_advantages([r.reward for r in members]), strict=True):
                row.advantage = adv

    if args.smoke:
        from .smoke import ByteTokenizer, tiny_model

        tokenizer = ByteTokenizer()
        model = tiny_model(args.seed, max_positions=args.max_len).to(dtype)
        base_model_label = "smoke:tiny-llama"
    else:
        tokenizer, model = _load_base(args.base_model, dtype)
        base_model_label = str(Path(args.base_model).resolve())
    pad_id = _pad_id(tokenizer)
    rows, enc_stats = encode_rows(export, tokenizer, args.max_len)
    if not rows:
        raise TrainingError(f"no row fits --max-len {args.max_len}; raise it")

    from peft import LoraConfig, get_peft_model

    targets = lora_targets(model)
    if not targets:
        raise TrainingError("found no attention/MLP projection to put LoRA on; "
                            f"known names: {', '.join(LORA_TARGET_CANDIDATES)}")
    if args.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(
        r=args.lora_rank, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=targets, bias="none", task_type="CAUSAL_LM"))
    model.to(device)
    trainable = [p for p in model.parameters() if p.requires_grad]
    before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    optimizer = torch.optim.AdamW(trainable, lr=args.lr)

    rng = random.Random(args.seed)
    metrics_path = out / "metrics.jsonl"
    step, last, history = 0, {}, []
    with metrics_path.open("w", encoding="utf-8") as metrics_file:
        for epoch in range(args.epochs):
            for batch_rows in batches(rows, args.batch_size, rng):
                if args.max_steps is not None and step >= args.max_steps:
                    break
                last = _train_step(model, optimizer, trainable, batch_rows, args, pad_id, device)
                step += 1
                last.update(step=step, epoch=epoch)
                history.append(last)
                metrics_file.write(json.dumps(last) + "\n")
                metrics_file.flush()
                if not math.isfinite(last["loss"]):
                    raise TrainingError(f"step {step}: the loss is {last['loss']}; lower --lr or check the data")
                if step == 1 or step % 10 == 0:
                    print(f"step {step} loss {last['loss']:.5f} kl {last['kl']:.3e} "
                          f"clip {last['clip_fraction']:.3f} ratio {last['mean_ratio']:.4f} "
                          f"reward {last['reward_mean']:.3f} ({last['step_time_s']:.2f}s)", flush=True)
    if step == 0:
        raise TrainingError("no optimiser step was run")
    model.save_pretrained(str(out))
    changed = sum(int(not torch.equal(before[n], p.detach())) for n, p in model.named_parameters() if n in before)

    import peft
    import transformers

    wall = time.time() - started
    summary = {
        "recipe": "grpo-lora",
        "config": dict(vars(args)),
        "base_model": base_model_label,
        "dataset": {"dir": str(Path(dataset_dir).resolve()) if tmp is None else "synthetic (smoke)",
                    "manifest_sha256": export.manifest_sha256, "kind": export.kind,
                    "tenant": export.manifest.get("tenant"), "rows": len(export.rows), "groups": len(groups),
                    "rows_used": len(rows), "advantages_recomputed": recompute, **enc_stats},
        "lora_targets": targets,
        "trainable_parameters": sum(p.numel() for p in trainable),
        "adapter_tensors_changed": changed,
        "steps": step,
        "final_metrics": last,
        "wall_time_s": round(wall, 3),
        "device": (torch.cuda.get_device_name(0) if device.type == "cuda"
                   else f"cpu ({platform.processor() or platform.machine()})"),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "peft": peft.__version__},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"wrote adapter, metrics.jsonl and summary.json to {out} ({step} steps, {wall:.1f}s on {summary['device']})")
    if tmp is not None:
        tmp.cleanup()

    if args.smoke:
        problems = []
        if not all(math.isfinite(h["loss"]) for h in history):
            problems.append("a loss was not finite")
        if changed == 0:
            problems.append("no adapter weight changed")
        if any(h["kl"] < -KL_TOLERANCE for h in history):
            problems.append(f"a KL was negative (min {min(h['kl'] for h in history)})")
        if problems:
            print("smoke check FAILED: " + "; ".join(problems), file=sys.stderr)
            return 1
        print(f"smoke check passed: finite loss, {changed} adapter tensors changed, KL >= 0 "
              f"(last {last['kl']:.3e})")

    if args.register:
        from .register import register_adapter

        notes = (f"GRPO LoRA r{args.lora_rank}/alpha {args.lora_alpha}, lr {args.lr}, {step} steps on "
                 f"dataset {export.manifest_sha256[:12]} ({len(rows)} rows); "
                 f"final loss {last['loss']:.4f}, kl {last['kl']:.4f}")
        answer = register_adapter(
            args.register,
            name=args.adapter_name or out.name,
            base_model=args.base_model_name or Path(args.base_model or base_model_label).name,
            source=str(out), notes=notes)
        print("registered: " + json.dumps(answer))
    return 0


def _load_base(path: str, dtype: Any) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if not Path(path).is_dir():
        raise TrainingError(f"--base-model {path} is not a folder; give the local path of a downloaded model "
                            "(nothing is fetched from a hub)")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, dtype=dtype)
    return tokenizer, model


def _pad_id(tokenizer: Any) -> int:
    for name in ("pad_token_id", "eos_token_id"):
        value = getattr(tokenizer, name, None)
        if value is not None:
            return int(value)
    return 0


def _train_step(model: Any, optimizer: Any, trainable: list[Any], batch_rows: list[dict[str, Any]],
                args: argparse.Namespace, pad_id: int, device: Any) -> dict[str, Any]:
    """One optimiser step over ``batch_rows`` (in micro-batches); returns its metrics."""
    import torch

    from . import grpo

    t0 = time.time()
    model.train()
    optimizer.zero_grad(set_to_none=True)
    n = len(batch_rows)
    sums = {"loss": 0.0, "policy_loss": 0.0, "kl": 0.0, "clip_tokens": 0.0, "ratio_tokens": 0.0, "tokens": 0.0}
    for i in range(0, n, args.micro_batch_size):
        chunk = batch_rows[i: i + args.micro_batch_size]
        batch = grpo.collate([r["prompt"] for r in chunk], [r["completion"] for r in chunk],
                             [r["old"] for r in chunk], [r["advantage"] for r in chunk],
                             [r["reward"] for r in chunk], pad_id, pad_to_multiple=PAD_MULTIPLE).to(device)
        with torch.no_grad(), model.disable_adapter():
            ref = grpo.completion_logprobs(model, batch)
        logp = grpo.completion_logprobs(model, batch)
        old = grpo.old_or_current(batch.old_logprobs, logp)
        parts = grpo.grpo_loss(logp, old, ref, batch.advantages, batch.completion_mask,
                               clip_eps=args.clip, beta=args.kl_beta, num_sequences=n)
        parts.loss.backward()
        k = len(chunk)
        tokens = float(parts.tokens)
        sums["loss"] += float(parts.loss.detach())
        sums["policy_loss"] += float(parts.policy_loss) * k / n
        sums["kl"] += float(parts.kl) * k / n
        sums["clip_tokens"] += float(parts.clip_fraction) * tokens
        sums["ratio_tokens"] += float(parts.mean_ratio) * tokens
        sums["tokens"] += tokens
    grad_norm = torch.nn.utils.clip_grad_norm_(trainable, 1.0)
    optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    adv = torch.tensor([r["advantage"] for r in batch_rows], dtype=torch.float64)
    tokens = max(sums["tokens"], 1.0)
    return {
        "loss": sums["loss"], "policy_loss": sums["policy_loss"], "kl": sums["kl"],
        "clip_fraction": sums["clip_tokens"] / tokens, "mean_ratio": sums["ratio_tokens"] / tokens,
        "reward_mean": sum(r["reward"] for r in batch_rows) / n, "advantage_std": float(adv.std(unbiased=False)),
        "tokens": int(sums["tokens"]), "sequences": n,
        "offpolicy_fraction": sum(r["old"] is not None for r in batch_rows) / n,
        "grad_norm": float(grad_norm), "lr": optimizer.param_groups[0]["lr"],
        "step_time_s": round(time.time() - t0, 4),
    }


if __name__ == "__main__":
    sys.exit(main())
