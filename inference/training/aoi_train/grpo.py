"""The GRPO objective as pure torch functions.

Notation, per completion token ``t`` of sequence ``i``:

* ``logp``      log-probability of the token under the policy being trained (with gradient);
* ``logp_old``  under the policy that sampled it: the dataset's ``logprobs`` when present and
                aligned with the completion tokens (:func:`aligned_logprobs`), else ``logp.detach()`` (on-policy: the
                ratio is then exactly 1 and the surrogate's gradient is the plain policy
                gradient ``A * grad logp``);
* ``logp_ref``  under the reference model (the base model, LoRA adapter disabled);
* ``A``         the sequence's group-relative advantage.

Loss (minimised)::

    ratio   = exp(logp - logp_old)
    surr    = min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)          eps = 0.2
    kl      = exp(logp_ref - logp) - (logp_ref - logp) - 1               (k3 estimator, >= 0)
    token   = -surr + beta * kl                                          beta = 0.04
    loss    = mean_i( sum_t(token * mask) / sum_t(mask) )

Reduction: each sequence's tokens are averaged first, then sequences are averaged (the
original GRPO "sequence mean"). Every completion, short or long, weighs the same in its
group, matching how its reward was given: one reward per completion. (Token-mean over the
whole batch, as in DAPO, would let long completions dominate.)

The advantage helper mirrors ``learning/src/grpo.rs`` on the Rust side exactly: population
standard deviation, ``eps = 1e-6``, equal-reward groups (spread < 1e-9), groups of one and
groups with a non-finite reward get advantage 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

ADVANTAGE_EPS = 1e-6
EQUAL_REWARD_TOLERANCE = 1e-9


def group_advantages(rewards: Sequence[float]) -> list[float]:
    """Group-relative advantages ``(r - mean) / (std + 1e-6)`` (population std), in order.

    A group whose rewards are all equal carries no preference between its members and gets all
    zeros (dividing rounding noise by a near-zero deviation would make large arbitrary updates);
    so does a group of one and a group with a non-finite reward.
    """
    if not rewards:
        return []
    if any(not math.isfinite(r) for r in rewards):
        return [0.0] * len(rewards)
    if max(rewards) - min(rewards) < EQUAL_REWARD_TOLERANCE:
        return [0.0] * len(rewards)
    n = len(rewards)
    mean = sum(rewards) / n
    std = math.sqrt(sum((r - mean) ** 2 for r in rewards) / n)
    return [(r - mean) / (std + ADVANTAGE_EPS) for r in rewards]


def selective_log_softmax(logits: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[..., ids]`` in float32, one row at a time to bound memory.

    ``logits``: ``(B, T, V)``; ``ids``: ``(B, T)``; returns ``(B, T)`` float32.
    """
    out = []
    for row_logits, row_ids in zip(logits, ids, strict=True):
        row = row_logits.float()
        picked = row.gather(-1, row_ids.unsqueeze(-1)).squeeze(-1)
        out.append(picked - torch.logsumexp(row, dim=-1))
    return torch.stack(out)


@dataclass
class Batch:
    """Padded tensors for one forward pass.

    Prompts are left-padded to ``P`` and completions right-padded to ``C``, so every
    completion starts at column ``P`` and only the last ``C + 1`` logits are needed.
    """

    input_ids: torch.Tensor  # (B, P + C)
    attention_mask: torch.Tensor  # (B, P + C)
    position_ids: torch.Tensor  # (B, P + C), 0 at each sequence's first real token
    completion_ids: torch.Tensor  # (B, C)
    completion_mask: torch.Tensor  # (B, C) float, 1 on real completion tokens
    old_logprobs: torch.Tensor  # (B, C) float32, NaN where the dataset gave none
    advantages: torch.Tensor  # (B,) float32
    rewards: torch.Tensor  # (B,) float32

    @property
    def completion_len(self) -> int:
        """``C``."""
        return self.completion_ids.shape[1]

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on ``device``."""
        return Batch(**{k: v.to(device) for k, v in self.__dict__.items()})


def collate(
    prompts: Sequence[Sequence[int]],
    completions: Sequence[Sequence[int]],
    old_logprobs: Sequence[Sequence[float] | None],
    advantages: Sequence[float],
    rewards: Sequence[float],
    pad_id: int,
    pad_to_multiple: int = 1,
) -> Batch:
    """Builds a :class:`Batch`. ``old_logprobs[i]`` must be ``None`` or have one entry per
    completion token of row ``i`` (callers drop misaligned ones; see :func:`aligned_logprobs`).

    ``pad_to_multiple`` rounds ``P`` and ``C`` up (the extra columns are masked); a few
    distinct shapes spare the GPU from re-tuning kernels for every new length."""
    m = max(1, pad_to_multiple)
    p_len = -(-max(len(p) for p in prompts) // m) * m
    c_len = -(-max(len(c) for c in completions) // m) * m
    b = len(prompts)
    input_ids = torch.full((b, p_len + c_len), pad_id, dtype=torch.long)
    attention = torch.zeros((b, p_len + c_len), dtype=torch.long)
    comp_ids = torch.full((b, c_len), pad_id, dtype=torch.long)
    comp_mask = torch.zeros((b, c_len), dtype=torch.float32)
    old = torch.full((b, c_len), float("nan"), dtype=torch.float32)
    for i, (p, c, lp) in enumerate(zip(prompts, completions, old_logprobs, strict=True)):
        input_ids[i, p_len - len(p): p_len] = torch.tensor(p, dtype=torch.long)
        input_ids[i, p_len: p_len + len(c)] = torch.tensor(c, dtype=torch.long)
        attention[i, p_len - len(p): p_len + len(c)] = 1
        comp_ids[i, : len(c)] = torch.tensor(c, dtype=torch.long)
        comp_mask[i, : len(c)] = 1.0
        if lp is not None:
            if len(lp) != len(c):
                raise ValueError(f"row {i}: {len(lp)} logprobs for {len(c)} completion tokens")
            old[i, : len(c)] = torch.tensor(lp, dtype=torch.float32)
    position_ids = (attention.cumsum(dim=1) - 1).clamp(min=0)
    return Batch(
        input_ids, attention, position_ids, comp_ids, comp_mask, old,
        torch.tensor(list(advantages), dtype=torch.float32), torch.tensor(list(rewards), dtype=torch.float32),
    )


#: How many trailing completion tokens may lack a dataset logprob and still count as aligned.
MAX_UNSAMPLED_TAIL = 2


def aligned_logprobs(logprobs: Sequence[float] | None, n_tokens: int) -> list[float] | None:
    """The dataset's per-token logprobs lined up with ``n_tokens`` completion tokens, or
    ``None`` when they do not line up (the row is then trained on-policy).

    Aligned means the same count, or up to :data:`MAX_UNSAMPLED_TAIL` fewer: a chat template
    often writes tokens after the sampled stop token (the newline after ``<|im_end|>``) that
    the backend never sampled; those tail tokens get NaN, i.e. on-policy. More tokens than the
    completion has, or a larger gap, means a different tokenisation: ``None``.
    """
    if logprobs is None:
        return None
    gap = n_tokens - len(logprobs)
    if not 0 <= gap <= MAX_UNSAMPLED_TAIL or not logprobs:
        return None
    return list(logprobs) + [float("nan")] * gap


def attention_4d(attention_mask: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """The ``(B, 1, L, L)`` mask the model gets: causal, real keys only, and every position may
    see itself, so a left-padding query never has an empty row. (With a 2-D mask, bfloat16 SDPA
    gives NaN on those rows, and the NaN reaches real tokens through the backward pass: measured
    on an H100 with long prompts.) Boolean (True = attend) for SDPA; with ``dtype``, additive
    (0 or the dtype's minimum) for eager attention."""
    n = attention_mask.shape[1]
    device = attention_mask.device
    keys = attention_mask.bool()[:, None, None, :]
    causal = torch.ones(n, n, dtype=torch.bool, device=device).tril()
    allowed = (causal & keys) | torch.eye(n, dtype=torch.bool, device=device)
    if dtype is None:
        return allowed
    blocked = torch.zeros(allowed.shape, dtype=dtype, device=device)
    return blocked.masked_fill(~allowed, torch.finfo(dtype).min)


def completion_logprobs(model: torch.nn.Module, batch: Batch) -> torch.Tensor:
    """Per-token log-probabilities ``(B, C)`` (float32) of the completion tokens given the
    prompt and the preceding completion tokens, under ``model`` (gradient flows if enabled)."""
    c = batch.completion_len
    impl = getattr(getattr(model, "config", None), "_attn_implementation", None) or "sdpa"
    mask = attention_4d(batch.attention_mask, dtype=None if impl == "sdpa" else model.dtype)
    kwargs = {"input_ids": batch.input_ids, "attention_mask": mask,
              "position_ids": batch.position_ids, "use_cache": False}
    try:
        logits = model(**kwargs, logits_to_keep=c + 1).logits
    except TypeError:  # a model without `logits_to_keep`
        logits = model(**kwargs).logits
    logits = logits[:, -(c + 1): -1, :]  # position t predicts token t + 1
    return selective_log_softmax(logits, batch.completion_ids)


def old_or_current(old_logprobs: torch.Tensor, logp: torch.Tensor) -> torch.Tensor:
    """``logp_old``: the dataset's value where present (not NaN), else ``logp.detach()``."""
    return torch.where(torch.isnan(old_logprobs), logp.detach(), old_logprobs)


def clipped_surrogate(ratio: torch.Tensor, advantages: torch.Tensor, eps: float = 0.2) -> torch.Tensor:
    """``min(ratio * A, clip(ratio, 1 - eps, 1 + eps) * A)`` elementwise (to maximise).

    The clipped branch wins (and the gradient is zero) only where it is the pessimistic one:
    ``A > 0`` with ``ratio > 1 + eps``, or ``A < 0`` with ``ratio < 1 - eps``.
    """
    return torch.minimum(ratio * advantages, torch.clamp(ratio, 1.0 - eps, 1.0 + eps) * advantages)


def clip_active(ratio: torch.Tensor, advantages: torch.Tensor, eps: float = 0.2) -> torch.Tensor:
    """Boolean mask of where the clipped branch is the active one (see :func:`clipped_surrogate`)."""
    return ((advantages > 0) & (ratio > 1.0 + eps)) | ((advantages < 0) & (ratio < 1.0 - eps))


def kl_k3(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """k3 estimator of KL(policy || reference) per token: ``exp(d) - d - 1``, ``d = ref - logp``.

    Zero where the two agree, positive elsewhere; ``expm1`` keeps it accurate for small ``d``.
    """
    d = ref_logp - logp
    return torch.expm1(d) - d


@dataclass
class LossParts:
    """The loss and what ``metrics.jsonl`` reports about it (all detached but ``loss``)."""

    loss: torch.Tensor
    policy_loss: torch.Tensor
    kl: torch.Tensor
    clip_fraction: torch.Tensor
    mean_ratio: torch.Tensor
    tokens: torch.Tensor


def grpo_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    beta: float = 0.04,
    num_sequences: int | None = None,
) -> LossParts:
    """The GRPO loss (see the module doc) for ``(B, C)`` tensors and ``(B,)`` advantages.

    ``num_sequences`` is the divisor of the sum of per-sequence losses: the micro-batch size by
    default, the whole optimiser batch when gradients are accumulated over micro-batches (so
    the accumulated gradient equals the one of the full batch).
    """
    mask = mask.float()
    adv = advantages.unsqueeze(1)
    ratio = torch.exp(logp - old_logp)
    surrogate = clipped_surrogate(ratio, adv, clip_eps)
    kl = kl_k3(logp, ref_logp)
    per_token = -surrogate + beta * kl
    lengths = mask.sum(dim=1).clamp(min=1.0)

    def seq_mean(x: torch.Tensor) -> torch.Tensor:
        return (x * mask).sum(dim=1) / lengths

    divisor = float(num_sequences if num_sequences is not None else logp.shape[0])
    loss = seq_mean(per_token).sum() / divisor
    n_tokens = mask.sum().clamp(min=1.0)
    with torch.no_grad():
        return LossParts(
            loss=loss,
            policy_loss=seq_mean(-surrogate).mean(),
            kl=seq_mean(kl).mean(),
            clip_fraction=(clip_active(ratio, adv, clip_eps).float() * mask).sum() / n_tokens,
            mean_ratio=(ratio * mask).sum() / n_tokens,
            tokens=mask.sum(),
        )
