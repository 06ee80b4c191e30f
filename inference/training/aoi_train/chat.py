"""Chat messages to token ids: a prompt part and a completion part.

With a tokenizer that has a chat template (``tokenizer.chat_template``), the prompt is
``apply_chat_template(prompt, add_generation_prompt=True)`` and the completion is what
``apply_chat_template(prompt + completion)`` adds after that prefix (so it ends with the
template's end-of-turn tokens, which the model must learn to emit). When the full rendering
does not start with the prompt rendering (some templates rewrite history), the completion is
the plain encoding of its text followed by the EOS token.

Without a chat template, the plain template below is used (documented here and in the README)::

    <BOS>### system\\n{content}\\n### user\\n{content}\\n### assistant\\n   <- prompt
    {completion content}<EOS>                                          <- completion

``<BOS>``/``<EOS>`` are the tokenizer's ``bos_token_id``/``eos_token_id`` when it has them.
Several completion messages are joined with a newline.

The tokenizer needs only ``encode(text, add_special_tokens=False) -> list[int]``, the
``bos_token_id``/``eos_token_id`` attributes and, for templates, ``apply_chat_template``;
a Hugging Face tokenizer and :class:`aoi_train.smoke.ByteTokenizer` both qualify.
"""

from __future__ import annotations

from typing import Any

Messages = list[dict[str, str]]


def plain_template(messages: Messages, add_generation_prompt: bool) -> str:
    """The plain template: ``### {role}\\n{content}\\n`` per message, then ``### assistant\\n``."""
    text = "".join(f"### {m['role']}\n{m['content']}\n" for m in messages)
    if add_generation_prompt:
        text += "### assistant\n"
    return text


def encode_example(tokenizer: Any, prompt: Messages, completion: Messages) -> tuple[list[int], list[int]]:
    """Token ids of ``prompt`` (ending with the generation prompt) and of ``completion``."""
    completion_text = "\n".join(m["content"] for m in completion)
    eos = getattr(tokenizer, "eos_token_id", None)
    if getattr(tokenizer, "chat_template", None):
        prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        full_text = tokenizer.apply_chat_template(prompt + completion, tokenize=False)
        prompt_ids = _encode(tokenizer, prompt_text)
        full_ids = _encode(tokenizer, full_text)
        if len(full_ids) > len(prompt_ids) and full_ids[: len(prompt_ids)] == prompt_ids:
            return prompt_ids, full_ids[len(prompt_ids):]
        completion_ids = _encode(tokenizer, completion_text)
    else:
        bos = getattr(tokenizer, "bos_token_id", None)
        prompt_ids = ([bos] if bos is not None else []) + _encode(tokenizer, plain_template(prompt, True))
        completion_ids = _encode(tokenizer, completion_text)
    if eos is not None:
        completion_ids = completion_ids + [eos]
    return prompt_ids, completion_ids


def _encode(tokenizer: Any, text: str) -> list[int]:
    ids = tokenizer.encode(text, add_special_tokens=False)
    return list(ids)
