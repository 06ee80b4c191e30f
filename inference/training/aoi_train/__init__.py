"""AOI training recipe: GRPO with LoRA over the datasets AOI exports.

Modules:

* ``data``     reads and validates an export folder (manifest + JSONL).
* ``chat``     turns chat messages into token ids (the tokenizer's chat template, or a
               documented plain template when it has none).
* ``grpo``     the GRPO objective as pure torch functions.
* ``smoke``    a byte-level tokenizer, a tiny random causal LM and a synthetic dataset, all
               built in code, for the smoke run.
* ``register`` registers a trained adapter with the AOI API.
* ``train``    the command line: ``python -m aoi_train.train --help``.

Nothing here downloads anything: models and tokenizers are read from local paths only.
"""

__version__ = "0.1.0"
