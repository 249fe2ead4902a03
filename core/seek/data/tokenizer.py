"""Byte-level BPE tokenizer trained on the cleaned corpus (``tokenizers``), domain terms added whole, saved as JSON."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seek.errors import DataError
from seek.io import atomic_path

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from seek.data.terms import TermDictionary

SPECIAL_TOKENS = ("<pad>", "<unk>", "<s>", "</s>", "<mask>")
TOKENIZER_FILE = "tokenizer.json"


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = 8000,
    min_frequency: int = 2,
    terms: Sequence[TermDictionary] = (),
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
) -> Tokenizer:
    """Train byte-level BPE on ``texts``; every canonical domain term is then added as one token."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_batches(texts), trainer=trainer)
    if terms:
        add_terms(tokenizer, terms)
    return tokenizer


def _batches(texts: Iterable[str], size: int = 1000) -> Iterable[list[str]]:
    batch: list[str] = []
    for text in texts:
        if text:
            batch.append(text)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def add_terms(tokenizer: Tokenizer, dictionaries: Sequence[TermDictionary]) -> int:
    """Add each dictionary's canonical forms as whole tokens; returns how many were new."""
    from tokenizers import AddedToken

    forms = sorted({t.canonical for d in dictionaries for t in d.terms})
    # single_word: a term inside a longer word ("ach" in "reach") must not be cut out as a token.
    return tokenizer.add_tokens([AddedToken(f, single_word=True, normalized=False) for f in forms])


def save_tokenizer(tokenizer: Tokenizer, directory: str | os.PathLike[str], name: str = TOKENIZER_FILE) -> Path:
    """Write the tokenizer as JSON (atomically) into ``directory``, beside the model."""
    target = Path(directory) / name
    with atomic_path(target) as tmp:
        tmp.write_text(tokenizer.to_str(), encoding="utf-8")
    return target


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """Load a tokenizer JSON file (or ``tokenizer.json`` inside a folder)."""
    from tokenizers import Tokenizer

    path = Path(path)
    if path.is_dir():
        path = path / TOKENIZER_FILE
    if not path.exists():
        raise DataError(f"{path}: tokenizer file not found")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # noqa: BLE001 - tokenizers raises a bare Exception for bad JSON
        raise DataError(
            f"{path}: not a tokenizer JSON file ({str(exc).splitlines()[0] if str(exc) else exc})"
        ) from None


def encode_batch(tokenizer: Tokenizer, texts: Sequence[str], max_length: int | None = None) -> list[list[int]]:
    """Token ids per text (Rust-side batch encoding), truncated to ``max_length`` when given."""
    encodings: list[Any] = tokenizer.encode_batch(list(texts))
    ids = [e.ids for e in encodings]
    return [i[:max_length] for i in ids] if max_length else ids


def model_inputs(tokenizer: Tokenizer, texts: Sequence[str], max_length: int) -> dict[str, Any]:
    """Padded token ids and a padding mask, ready for a ``SeekTransformer`` with ``input_type='tokens'``.

    Returns ``{"x": LongTensor (B, L), "mask": BoolTensor (B, L)}`` with L the longest encoded text (at most
    ``max_length``); padding uses the ``<pad>`` id and ``mask`` is True on real tokens. Build the model with
    ``vocab_size=tokenizer.get_vocab_size()``.
    """
    import torch

    pad = tokenizer.token_to_id(SPECIAL_TOKENS[0])
    if pad is None:
        raise DataError(f"tokenizer has no {SPECIAL_TOKENS[0]!r} token; train it with seek.data.train_tokenizer")
    ids = [row or [pad] for row in encode_batch(tokenizer, texts, max_length)]
    length = max((len(row) for row in ids), default=1)
    x = torch.full((len(ids), length), pad, dtype=torch.long)
    mask = torch.zeros((len(ids), length), dtype=torch.bool)
    for i, row in enumerate(ids):  # one row per text, not per token: the batch is built once
        x[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = True
    return {"x": x, "mask": mask}
