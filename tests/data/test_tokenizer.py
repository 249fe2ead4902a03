"""Byte-level BPE tokenizer: trained on a corpus, domain terms whole, saved and loaded as JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from seek.data.terms import Term, TermDictionary
from seek.data.tokenizer import encode_batch, load_tokenizer, save_tokenizer, train_tokenizer
from seek.errors import DataError

CORPUS = [
    "the nodule is a ground-glass opacity in the left lung",
    "Lung-RADS category 4A follow up",
    "reach the goal",
] * 30
TERMS = TermDictionary("medical", [Term("Lung-RADS"), Term("ground-glass opacity", ("GGO",))])


def test_terms_become_single_tokens_and_text_round_trips(tmp_path: Path) -> None:
    tokenizer = train_tokenizer(CORPUS, vocab_size=300, terms=[TERMS])
    tokens = tokenizer.encode("Lung-RADS 4A ground-glass opacity").tokens
    assert tokens[0] == "Lung-RADS" and "ground-glass opacity" in tokens
    path = save_tokenizer(tokenizer, tmp_path)
    loaded = load_tokenizer(tmp_path)
    assert path.name == "tokenizer.json"
    text = "肺结节 Lung-RADS 4A, ünïcode"
    assert loaded.decode(loaded.encode(text).ids) == text
    assert encode_batch(loaded, ["reach the goal", "x"], max_length=2)[0] == loaded.encode("reach the goal").ids[:2]


def test_vocabulary_grows_by_the_terms_only() -> None:
    plain = train_tokenizer(CORPUS, vocab_size=300)
    extended = train_tokenizer(CORPUS, vocab_size=300, terms=[TERMS])
    assert extended.get_vocab_size() - plain.get_vocab_size() == 2


def test_loading_a_bad_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="tokenizer file not found"):
        load_tokenizer(tmp_path / "none.json")
    (tmp_path / "tokenizer.json").write_text("{not json")
    with pytest.raises(DataError, match="not a tokenizer JSON file"):
        load_tokenizer(tmp_path)


def test_model_inputs_feed_the_seek_transformer_token_adapter() -> None:
    import torch

    from seek.data.tokenizer import model_inputs, train_tokenizer
    from seek.models import SeekConfig, SeekTransformer

    texts = ["card not present fraud", "chargeback on merchant category 5411", "ok"] * 20
    tokenizer = train_tokenizer(texts, vocab_size=300, min_frequency=1)
    batch = model_inputs(tokenizer, ["card not present fraud", "ok"], max_length=16)
    assert batch["x"].dtype == torch.long and batch["x"].shape == batch["mask"].shape
    assert batch["mask"][1].sum() < batch["mask"][0].sum()  # the short text is padded
    model = SeekTransformer(
        SeekConfig.preset("tiny", input_type="tokens", vocab_size=tokenizer.get_vocab_size(), num_outputs=3)
    ).eval()
    with torch.no_grad():
        both = model(batch["x"], batch["mask"])
        alone = model(batch["x"][1:, : int(batch["mask"][1].sum())])
    assert torch.allclose(both[1], alone[0], atol=1e-5)
