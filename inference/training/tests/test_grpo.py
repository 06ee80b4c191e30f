"""CPU tests of the GRPO arithmetic, the data validation, the chat encoding, registration and a
short smoke run of the CLI. Run: ``python -m pytest inference/training/tests``."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import torch

from aoi_train import grpo
from aoi_train.chat import encode_example
from aoi_train.data import DatasetError, load_export
from aoi_train.register import RegistrationError, register_adapter
from aoi_train.smoke import BOS_ID, EOS_ID, PAD_ID, ByteTokenizer, tiny_model, write_synthetic_grpo

# ---------------------------------------------------------------- advantages

def test_group_advantages_are_standardised_with_population_std():
    adv = grpo.group_advantages([1.0, 0.0, 0.0, 1.0])
    # mean 0.5, population std 0.5
    expected = 0.5 / (0.5 + grpo.ADVANTAGE_EPS)
    assert adv == pytest.approx([expected, -expected, -expected, expected], abs=1e-12)
    assert sum(grpo.group_advantages([0.2, 0.9, 0.4])) == pytest.approx(0.0, abs=1e-12)


def test_group_advantages_order_follows_rewards():
    adv = grpo.group_advantages([0.1, 0.9, 0.5])
    assert adv[1] > adv[2] > adv[0]
    assert adv[2] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("rewards", [[0.7, 0.7, 0.7, 0.7], [0.3], [0.5, 0.5 + 1e-12], [1.0, float("nan")]])
def test_equal_single_or_nonfinite_reward_groups_get_zero(rewards):
    assert grpo.group_advantages(rewards) == [0.0] * len(rewards)


def test_empty_group_gives_empty_list():
    assert grpo.group_advantages([]) == []


# ---------------------------------------------------------------- clipping

def test_clipped_term_wins_where_it_is_pessimistic():
    ratio = torch.tensor([1.5, 0.5, 1.5, 0.5, 1.1, 0.9])
    adv = torch.tensor([1.0, -1.0, -1.0, 1.0, 2.0, -2.0])
    surr = grpo.clipped_surrogate(ratio, adv, eps=0.2)
    # A > 0, r > 1.2 -> clipped 1.2 * A ; A < 0, r < 0.8 -> clipped 0.8 * A
    # A < 0, r > 1.2 and A > 0, r < 0.8 -> the unclipped term is the smaller one
    # inside [0.8, 1.2] both terms are equal
    assert surr.tolist() == pytest.approx([1.2, -0.8, -1.5, 0.5, 2.2, -1.8])
    assert grpo.clip_active(ratio, adv, 0.2).tolist() == [True, True, False, False, False, False]


def test_clipped_tokens_get_no_policy_gradient():
    old = torch.zeros(1, 4)
    logp = torch.log(torch.tensor([[1.5, 0.5, 1.5, 1.0]])).requires_grad_(True)
    mask = torch.ones(1, 4)
    # one advantage per sequence: positive, so tokens 0 and 2 (ratio 1.5) are clipped
    parts = grpo.grpo_loss(logp, old, logp.detach(), torch.tensor([1.0]), mask, clip_eps=0.2, beta=0.0)
    parts.loss.backward()
    grad = logp.grad[0].tolist()
    assert grad[0] == 0.0 and grad[2] == 0.0
    assert grad[1] == pytest.approx(-0.5 / 4) and grad[3] == pytest.approx(-1.0 / 4)
    assert float(parts.clip_fraction) == pytest.approx(0.5)
    # negative advantage: the ratio-0.5 token is clipped instead
    logp.grad = None
    parts = grpo.grpo_loss(logp, old, logp.detach(), torch.tensor([-1.0]), mask, clip_eps=0.2, beta=0.0)
    parts.loss.backward()
    assert logp.grad[0, 1] == 0.0 and logp.grad[0, 0] != 0.0
    assert float(parts.clip_fraction) == pytest.approx(0.25)


# ---------------------------------------------------------------- KL

def test_kl_k3_is_zero_when_equal_and_positive_otherwise():
    logp = torch.tensor([-1.0, -2.0, -0.5, -3.0])
    assert torch.all(grpo.kl_k3(logp, logp) == 0.0)
    ref = logp + torch.tensor([0.3, -0.3, 2.0, -1e-3])
    kl = grpo.kl_k3(logp, ref)
    assert torch.all(kl > 0)
    d = [r - lp for r, lp in zip(ref.double().tolist(), logp.double().tolist(), strict=True)]
    exact = [math.exp(x) - x - 1 for x in d]  # float64; expm1 keeps float32 close even for tiny d
    assert kl.tolist() == pytest.approx(exact, rel=1e-4)


def test_kl_enters_the_loss_with_beta():
    logp = torch.tensor([[-1.0, -1.0]])
    ref = torch.tensor([[-1.5, -0.5]])
    mask = torch.ones(1, 2)
    zero_adv = torch.tensor([0.0])
    parts = grpo.grpo_loss(logp, logp, ref, zero_adv, mask, beta=0.1)
    expected_kl = float(grpo.kl_k3(logp, ref).mean())
    assert float(parts.kl) == pytest.approx(expected_kl)
    assert float(parts.loss) == pytest.approx(0.1 * expected_kl)


# ---------------------------------------------------------------- reduction

def test_loss_is_token_mean_per_sequence_then_batch_mean():
    logp = torch.zeros(2, 3)
    old = torch.zeros(2, 3)
    mask = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
    # ratio 1 everywhere: per-token loss is -A; the short sequence weighs as much as the long one
    parts = grpo.grpo_loss(logp, old, logp, torch.tensor([2.0, -1.0]), mask, beta=0.0)
    assert float(parts.loss) == pytest.approx((-2.0 + 1.0) / 2)
    assert float(parts.tokens) == 4.0


def test_micro_batches_accumulate_to_the_full_batch_gradient():
    torch.manual_seed(0)
    base = torch.randn(4, 5)
    old = base + 0.1 * torch.randn(4, 5)
    ref = base + 0.1 * torch.randn(4, 5)
    adv = torch.tensor([1.0, -0.5, 0.3, -0.8])
    mask = torch.ones(4, 5)
    mask[1, 3:] = 0
    full = base.clone().requires_grad_(True)
    grpo.grpo_loss(full, old, ref, adv, mask).loss.backward()
    parts = base.clone().requires_grad_(True)
    for sl in (slice(0, 2), slice(2, 4)):
        grpo.grpo_loss(parts[sl], old[sl], ref[sl], adv[sl], mask[sl], num_sequences=4).loss.backward()
    assert torch.allclose(full.grad, parts.grad, atol=1e-7)


# ---------------------------------------------------------------- log-probs on a model

def _toy_batch(old=None, pad_to_multiple=1):
    tok = ByteTokenizer()
    prompts = [[{"role": "user", "content": "hi"}], [{"role": "system", "content": "be brief"},
                                                     {"role": "user", "content": "what failed?"}]]
    completions = [[{"role": "assistant", "content": "the geo pod"}], [{"role": "assistant", "content": "ok"}]]
    enc = [encode_example(tok, p, c) for p, c in zip(prompts, completions, strict=True)]
    olds = old or [None, None]
    return enc, grpo.collate([e[0] for e in enc], [e[1] for e in enc], olds, [1.0, -1.0], [1.0, 0.0], PAD_ID,
                              pad_to_multiple=pad_to_multiple)


@pytest.mark.parametrize("multiple", [1, 32])
def test_padded_batch_logprobs_match_unpadded_rows(multiple):
    model = tiny_model(seed=1).eval()
    enc, batch = _toy_batch(pad_to_multiple=multiple)
    assert batch.input_ids.shape[1] % multiple == 0
    with torch.no_grad():
        got = grpo.completion_logprobs(model, batch)
        for i, (p, c) in enumerate(enc):
            ids = torch.tensor([p + c])
            logits = model(input_ids=ids).logits[0, len(p) - 1: -1]
            want = torch.log_softmax(logits.float(), -1).gather(-1, torch.tensor(c).unsqueeze(-1)).squeeze(-1)
            assert torch.allclose(got[i, : len(c)], want, atol=1e-5), f"row {i}"
            assert torch.all(batch.completion_mask[i, len(c):] == 0)


def test_attention_4d_is_causal_hides_padding_and_never_leaves_a_row_empty():
    mask = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    allowed = grpo.attention_4d(mask)
    assert allowed.shape == (2, 1, 4, 4) and allowed.dtype == torch.bool
    assert bool(allowed.any(dim=-1).all())  # padding queries see themselves
    assert not allowed[0, 0, 2, 0] and not allowed[0, 0, 3, 1]  # real tokens never see padding
    assert allowed[0, 0, 3, 2] and allowed[0, 0, 3, 3] and not allowed[0, 0, 2, 3]  # causal
    assert bool(allowed[1, 0].eq(torch.ones(4, 4, dtype=torch.bool).tril()).all())
    additive = grpo.attention_4d(mask, dtype=torch.float32)
    assert additive[0, 0, 3, 0] == torch.finfo(torch.float32).min and additive[0, 0, 3, 2] == 0


def test_eager_attention_gives_the_same_logprobs_as_sdpa():
    _, batch = _toy_batch(pad_to_multiple=32)
    sdpa = tiny_model(seed=1).eval()
    eager = tiny_model(seed=1).eval()
    eager.set_attn_implementation("eager")
    with torch.no_grad():
        a = grpo.completion_logprobs(sdpa, batch)
        b = grpo.completion_logprobs(eager, batch)
    assert torch.allclose(a * batch.completion_mask, b * batch.completion_mask, atol=1e-5)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="bfloat16 SDPA on CUDA")
def test_bf16_gradients_stay_finite_with_long_left_padding():
    # A 2-D mask left a padding query with no key, which bf16 SDPA answered with NaN.
    torch.manual_seed(0)
    model = tiny_model(seed=3, max_positions=8192).to("cuda", torch.bfloat16)
    prompts = [[BOS_ID] + [65 + i % 26 for i in range(6000)], [BOS_ID, 66, 67]]
    completions = [[70, 71, EOS_ID], [72, EOS_ID]]
    batch = grpo.collate(prompts, completions, [None, None], [1.0, -1.0], [1.0, 0.0], PAD_ID,
                         pad_to_multiple=32).to("cuda")
    logp = grpo.completion_logprobs(model, batch)
    (logp * batch.completion_mask).sum().backward()
    assert torch.isfinite(logp).all()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


def test_on_policy_first_step_has_ratio_one_and_zero_kl():
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(tiny_model(seed=2), LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]))
    model.eval()
    _, batch = _toy_batch()
    with torch.no_grad(), model.disable_adapter():
        ref = grpo.completion_logprobs(model, batch)
    logp = grpo.completion_logprobs(model, batch)
    old = grpo.old_or_current(batch.old_logprobs, logp)
    parts = grpo.grpo_loss(logp, old, ref, batch.advantages, batch.completion_mask)
    assert float(parts.mean_ratio) == 1.0
    assert float(parts.clip_fraction) == 0.0
    assert float(parts.kl) == pytest.approx(0.0, abs=1e-7)  # LoRA B starts at zero: policy == reference
    assert float(parts.policy_loss) == pytest.approx(-float(batch.advantages.mean()))
    parts.loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters() if p.requires_grad)


def test_dataset_logprobs_are_used_where_aligned():
    enc, _ = _toy_batch()
    n0 = len(enc[0][1])
    assert grpo.aligned_logprobs([-1.0] * (n0 + 1), n0) is None  # longer: another tokenisation
    assert grpo.aligned_logprobs([-1.0] * (n0 - 3), n0) is None  # gap too large
    tail = grpo.aligned_logprobs([-1.0] * (n0 - 2), n0)  # template tokens after the stop token
    assert tail[: n0 - 2] == [-1.0] * (n0 - 2) and all(math.isnan(x) for x in tail[n0 - 2:])
    _, batch = _toy_batch(old=[[-0.5] * n0, None])
    logp = torch.full_like(batch.old_logprobs, -1.0)
    old = grpo.old_or_current(batch.old_logprobs, logp)
    assert torch.all(old[0, :n0] == -0.5)
    assert torch.all(old[1] == -1.0)


# ---------------------------------------------------------------- chat encoding

def test_plain_template_when_the_tokenizer_has_none():
    tok = ByteTokenizer()
    p, c = encode_example(tok, [{"role": "user", "content": "hello"}], [{"role": "assistant", "content": "yo"}])
    assert p[0] == BOS_ID
    assert tok.decode(p) == "### user\nhello\n### assistant\n"
    assert c == list(b"yo") + [EOS_ID]


class _TemplateTokenizer(ByteTokenizer):
    chat_template = "<fake>"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=False):
        text = "".join(f"<{m['role']}>{m['content']}</s>" for m in messages)
        return text + ("<assistant>" if add_generation_prompt else "")


def test_chat_template_completion_is_the_suffix_after_the_prompt():
    tok = _TemplateTokenizer()
    p, c = encode_example(tok, [{"role": "user", "content": "q"}], [{"role": "assistant", "content": "a"}])
    assert tok.decode(p) == "<user>q</s><assistant>"
    assert tok.decode(c) == "a</s>"
    assert c[-1] != EOS_ID  # the template's own end-of-turn, no extra EOS


# ---------------------------------------------------------------- data validation

def _rewrite(export_dir: Path, lines: list[str], fix_hash: bool = True) -> None:
    data = "".join(line + "\n" for line in lines).encode()
    (export_dir / "grpo.jsonl").write_bytes(data)
    if fix_hash:
        manifest = json.loads((export_dir / "manifest.json").read_text())
        manifest["files"][0]["sha256"] = hashlib.sha256(data).hexdigest()
        (export_dir / "manifest.json").write_text(json.dumps(manifest))


def test_synthetic_export_loads_and_groups(tmp_path):
    export = load_export(write_synthetic_grpo(tmp_path, groups=5, group_size=4), expect_kind="grpo")
    assert len(export.rows) == 20
    groups = export.groups()
    assert len(groups) == 5 and all(len(g) == 4 for g in groups.values())
    assert export.rows[0].origin == "grpo.jsonl:1"


def test_bad_sha256_names_the_file(tmp_path):
    write_synthetic_grpo(tmp_path, groups=2)
    with (tmp_path / "grpo.jsonl").open("a") as f:
        f.write("\n")
    with pytest.raises(DatasetError, match=r"^grpo\.jsonl: sha256 is [0-9a-f]{64} but the manifest says"):
        load_export(tmp_path)


def test_missing_field_names_file_line_and_field(tmp_path):
    write_synthetic_grpo(tmp_path, groups=1, group_size=3)
    lines = (tmp_path / "grpo.jsonl").read_text().splitlines()
    row = json.loads(lines[1])
    del row["reward"]
    lines[1] = json.dumps(row)
    _rewrite(tmp_path, lines)
    with pytest.raises(DatasetError, match=r"^grpo\.jsonl:2: field `reward`: missing$"):
        load_export(tmp_path)


@pytest.mark.parametrize("field,value,message", [
    ("group_id", "other#0", "must be `<problem id>#<group n>`"),
    ("logprobs", [0.1, "x"], "entry 1 is not a finite number"),
    ("completion", [{"role": "user", "content": "x"}], "message 0 must have role `assistant`"),
    ("role", "judge", "must be one of observer"),
    ("extra", 1, "unknown field"),
])
def test_bad_values_name_file_line_and_field(tmp_path, field, value, message):
    write_synthetic_grpo(tmp_path, groups=1, group_size=2)
    lines = (tmp_path / "grpo.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row[field] = value
    lines[0] = json.dumps(row)
    _rewrite(tmp_path, lines)
    with pytest.raises(DatasetError) as err:
        load_export(tmp_path)
    assert str(err.value).startswith(f"grpo.jsonl:1: field `{field}`: ")
    assert message in str(err.value)


def test_row_count_mismatch_is_reported(tmp_path):
    write_synthetic_grpo(tmp_path, groups=1, group_size=3)
    lines = (tmp_path / "grpo.jsonl").read_text().splitlines()
    _rewrite(tmp_path, lines[:2])
    with pytest.raises(DatasetError, match=r"grpo\.jsonl: the manifest says 3 rows, the file holds 2"):
        load_export(tmp_path)


def test_missing_advantage_is_allowed_and_left_for_recomputation(tmp_path):
    write_synthetic_grpo(tmp_path, groups=1, group_size=2)
    lines = [json.loads(line) for line in (tmp_path / "grpo.jsonl").read_text().splitlines()]
    del lines[0]["advantage"]
    lines[1]["advantage"] = None
    _rewrite(tmp_path, [json.dumps(r) for r in lines])
    assert [r.advantage for r in load_export(tmp_path).rows] == [None, None]


def test_wrong_kind_is_refused(tmp_path):
    write_synthetic_grpo(tmp_path, groups=1)
    with pytest.raises(DatasetError, match="needs a sft export"):
        load_export(tmp_path, expect_kind="sft")


# ---------------------------------------------------------------- registration

class _Registry(BaseHTTPRequestHandler):
    status = 201
    seen: ClassVar[list] = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.path, self.headers.get("Authorization"), body))
        payload = json.dumps({"id": "a1", "name": body["name"]}).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def registry():
    server = HTTPServer(("127.0.0.1", 0), _Registry)
    _Registry.seen = []
    _Registry.status = 201
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_register_posts_the_adapter(registry):
    _, url = registry
    answer = register_adapter(url + "/", "obs-v1", "qwen", "/abs/out", "notes", api_key="k123")
    assert answer == {"id": "a1", "name": "obs-v1"}
    path, auth, body = _Registry.seen[0]
    assert path == "/api/v1/models/adapters"
    assert auth == "Bearer k123"
    assert body == {"name": "obs-v1", "base_model": "qwen", "source": "/abs/out", "notes": "notes"}


def test_register_fails_clearly_on_non_2xx(registry):
    _, url = registry
    _Registry.status = 403
    with pytest.raises(RegistrationError, match=r"answered 403 .*AOI_API_KEY"):
        register_adapter(url, "obs-v1", "qwen", "/abs/out", "n", api_key="bad")


# ---------------------------------------------------------------- the CLI

def test_smoke_cli_writes_adapter_metrics_and_summary(tmp_path):
    from aoi_train.train import main

    out = tmp_path / "out"
    assert main(["--smoke", "--out", str(out), "--max-steps", "3", "--max-len", "256"]) == 0
    assert (out / "adapter_config.json").is_file()
    assert any(out.glob("adapter_model.*"))
    metrics = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics] == [1, 2, 3]
    for key in ("loss", "policy_loss", "kl", "clip_fraction", "mean_ratio", "reward_mean",
                "advantage_std", "tokens", "step_time_s"):
        assert all(math.isfinite(m[key]) for m in metrics), key
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["adapter_tensors_changed"] > 0
    assert len(summary["dataset"]["manifest_sha256"]) == 64
    # a second run into the same folder is refused
    assert main(["--smoke", "--out", str(out), "--max-steps", "1"]) == 2


def test_smoke_cli_registers_the_adapter(tmp_path, registry, monkeypatch):
    from aoi_train.train import main

    _, url = registry
    monkeypatch.setenv("AOI_API_KEY", "secret")
    out = tmp_path / "observer-grpo"
    assert main(["--smoke", "--out", str(out), "--max-steps", "1", "--max-len", "256",
                 "--register", url, "--base-model-name", "tiny"]) == 0
    _, auth, body = _Registry.seen[0]
    assert auth == "Bearer secret"
    assert body["name"] == "observer-grpo" and body["base_model"] == "tiny"
    assert body["source"] == str(out.resolve())
    assert "1 steps" in body["notes"]
    _Registry.status = 500
    assert main(["--smoke", "--out", str(tmp_path / "again"), "--max-steps", "1", "--max-len", "256",
                 "--register", url]) == 2


def _local_model_folder(path: Path) -> Path:
    """A tiny model plus a byte-level BPE tokenizer with a chat template, saved like a
    downloaded model (nothing fetched)."""
    from tokenizers import Tokenizer, decoders, pre_tokenizers
    from tokenizers.models import BPE
    from transformers import PreTrainedTokenizerFast

    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab.update({"<s>": BOS_ID, "</s>": EOS_ID, "<pad>": PAD_ID})
    backend = Tokenizer(BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>")
    tok.chat_template = ("{% for m in messages %}<s>{{ m['role'] }}\n{{ m['content'] }}</s>\n{% endfor %}"
                         "{% if add_generation_prompt %}<s>assistant\n{% endif %}")
    tok.save_pretrained(path)
    tiny_model(seed=3).save_pretrained(path)
    return path


def test_cli_trains_from_a_local_model_folder_with_a_chat_template(tmp_path):
    from aoi_train.train import main

    model_dir = _local_model_folder(tmp_path / "base")
    data = write_synthetic_grpo(tmp_path / "data", groups=2, group_size=4)
    out = tmp_path / "out"
    assert main(["--dataset", str(data), "--base-model", str(model_dir), "--out", str(out),
                 "--micro-batch-size", "2", "--lora-rank", "8", "--lora-alpha", "16"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 2
    assert summary["base_model"] == str(model_dir.resolve())
    assert set(summary["lora_targets"]) >= {"q_proj", "v_proj", "down_proj"}
    # the synthetic logprobs cover content + EOS; this template adds "\n" after </s>, which
    # the sampler never produced: still aligned, that tail token is on-policy
    assert summary["dataset"]["rows_with_logprobs"] == 4
    assert summary["dataset"]["rows_logprobs_misaligned"] == 0
    assert (out / "adapter_model.safetensors").is_file()
    assert main(["--dataset", str(data), "--base-model", str(tmp_path / "nope"), "--out", str(tmp_path / "o2")]) == 2


def test_smoke_check_fails_when_the_adapter_does_not_move(tmp_path, monkeypatch):
    from aoi_train.train import main

    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, closure=None: None)
    assert main(["--smoke", "--out", str(tmp_path / "o"), "--max-steps", "2", "--max-len", "256"]) == 1
