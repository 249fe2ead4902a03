"""Model helpers: sequence windows follow the time rule, fusion picks its weight on validation."""

from __future__ import annotations

import numpy as np

from seek_finance.app import FeatureConfig, SequenceConfig
from seek_finance.features import feature_names
from seek_finance.model import (
    Fusion,
    assemble,
    build_sequence_model,
    event_channels,
    positive_weight,
    sequence_index,
    sequence_logits,
    session_codes,
    step_names,
    step_vectors,
)
from seek_finance.simulate import EVENTS


def test_sequence_index_takes_the_cards_strictly_earlier_payments() -> None:
    customers = np.array([1, 2, 1, 1, 1, 2])
    seconds = np.array([0.0, 5.0, 10.0, 20.0, 20.0, 30.0])
    index = sequence_index(customers, seconds, k=3)
    assert index[0].tolist() == [-1, -1, 0]
    assert index[2].tolist() == [-1, 0, 2]
    # Rows 3 and 4 share a timestamp: neither sees the other.
    assert index[3].tolist() == [0, 2, 3]
    assert index[4].tolist() == [0, 2, 4]
    assert index[5].tolist() == [-1, 1, 5]


def test_assembled_sequences_mask_padding_and_mark_the_current_payment() -> None:
    steps = np.arange(12, dtype=np.float32).reshape(6, 2)
    seconds = np.array([0.0, 5.0, 10.0, 20.0, 20.0, 30.0])
    x, mask = assemble(steps, seconds, np.array([[-1, 0, 2]]))
    assert mask.tolist() == [[False, True, True]]
    assert x.shape == (1, 3, 4) and not x[0, 0].any()
    assert x[0, :, 2].tolist() == [0.0, 0.0, 1.0]  # is-current flag
    assert x[0, 1, 3] > x[0, 2, 3] == 0.0  # log age: older is larger, the current payment is 0


def test_weighted_fusion_prefers_the_better_model_and_stacking_gives_probabilities() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.05).astype(int)
    good = np.clip(0.7 * y + rng.normal(0.15, 0.1, y.size), 0, 1)
    noise = rng.random(y.size)
    weighted = Fusion.fit("weighted", y, good, noise, 0.0)
    assert weighted.weight >= 0.8
    stacked = Fusion.fit("stacking", y, good, noise, 0.0)
    p = stacked(good, noise)
    assert p.min() >= 0 and p.max() <= 1 and abs(stacked.coef[0]) > abs(stacked.coef[1])
    assert np.array_equal(Fusion("weighted", weight=1.0)(good, None), good)
    logit = Fusion.fit("logit", y, good, noise, 0.0)
    assert logit.weight >= 0.8 and Fusion("logit", weight=1.0).ignores_sequence
    assert np.allclose(Fusion("logit", weight=1.0)(good, noise), np.clip(good, 1e-7, 1 - 1e-7))
    assert "logit" in logit.describe() and not Fusion("logit", weight=0.5).ignores_sequence


def test_imbalance_weights() -> None:
    y = np.r_[np.ones(10), np.zeros(990)]
    assert positive_weight(y, "none") == 1.0
    assert positive_weight(y, "balanced") == 99.0
    assert abs(positive_weight(y, "sqrt") - 99**0.5) < 1e-12


def test_every_model_feature_but_the_category_code_enters_a_step() -> None:
    columns = ["transaction_id", "timestamp", "customer_id", "terminal_id", "amount", "merchant_category", "is_fraud"]
    names = feature_names(columns, FeatureConfig())
    steps = step_names(names)
    assert len(steps) == len(names)  # hour is two channels (sin, cos), mcc none
    assert {s[s.index("(") + 1 : -1] for s in steps} == set(names) - {"mcc"}
    values = {n: np.array([np.nan, 2.0]) for n in names}
    v = step_vectors(values, names)
    assert v.shape == (2, len(steps)) and np.isfinite(v).all()
    ratio = steps.index("log1p(cust_amount_ratio_1d)")
    assert v[0, ratio] == np.log1p(1.0)  # a ratio without history counts as 1


def test_session_codes_keep_the_last_events_right_aligned_and_share_a_code_for_unknown_names() -> None:
    codes = session_codes(["login_ok|view_item|payment", None, "x|" + "|".join(["search"] * 5) + "|payment"], 4)
    assert codes[0].tolist() == [-1, EVENTS.index("login_ok"), EVENTS.index("view_item"), EVENTS.index("payment")]
    assert codes[1].tolist() == [-1, -1, -1, -1]
    assert codes[2].tolist() == [EVENTS.index("search")] * 3 + [EVENTS.index("payment")]
    assert session_codes(["bogus"], 2)[0].tolist() == [-1, len(EVENTS)]


def test_session_events_sit_between_the_earlier_payments_and_the_payment_with_their_ages() -> None:
    steps = np.arange(12, dtype=np.float32).reshape(6, 2)
    seconds = np.array([0.0, 5.0, 10.0, 20.0, 20.0, 30.0])
    codes = session_codes(["login_ok|search|payment"], 4)
    x, mask = assemble(steps, seconds, np.array([[-1, 0, 2]]), codes, np.array([30.0]))
    assert x.shape == (1, 3 + 4, 2 + 2 + event_channels())
    assert mask.tolist() == [[False, True, False, True, True, True, True]]
    assert x[0, -1, :2].tolist() == [4.0, 5.0] and x[0, -1, 2] == 1.0  # the payment last, flagged current
    events = x[0, 3:6]
    assert (events[:, 4] == 1.0).all() and not events[:, :3].any()  # is-event flag; no payment inputs
    assert events[0, 5 + EVENTS.index("login_ok")] == 1.0 and events[2, 5 + EVENTS.index("payment")] == 1.0
    # Three events over 30 s: 15 s apart, the first 30 s before the payment, the last at the payment.
    assert np.allclose(events[:, 3], np.log1p([30.0, 15.0, 0.0]) / 10)
    assert not x[0, 2].any()  # padding


def test_the_current_readout_scores_the_payment_and_ignores_padding() -> None:
    import torch

    cfg = SequenceConfig(k=4, events=0)
    torch.manual_seed(0)
    model = build_sequence_model(3, cfg).eval()
    x = np.random.default_rng(0).normal(size=(2, 4, 3)).astype(np.float32)
    mask = np.array([[False, True, True, True]] * 2)
    x[:, 0] = 0.0
    base = sequence_logits(model, x, mask)
    padded = x.copy()
    padded[:, 0] = 5.0  # a padded position's values must not matter
    assert np.allclose(sequence_logits(model, padded, mask), base, atol=1e-5)
    moved = x.copy()
    moved[:, -1] += 1.0
    assert not np.allclose(sequence_logits(model, moved, mask), base)


def test_full_attention_below_runs_the_short_sequence_without_the_coarse_branches() -> None:
    import torch

    x = np.random.default_rng(1).normal(size=(3, 4, 3)).astype(np.float32)
    mask = np.ones((3, 4), dtype=bool)
    for below, coarse_used in ((0, True), (1000, False)):
        torch.manual_seed(0)
        model = build_sequence_model(3, SequenceConfig(k=4, events=0, segment=2, full_attention_below=below))
        model(torch.from_numpy(x), torch.from_numpy(mask)).sum().backward()
        grads = [p.grad for n, p in model.named_parameters() if ".attn.global_." in n or ".fusion." in n]
        assert grads, "the hierarchical block has coarse-branch parameters"
        assert any(g is not None and bool(g.abs().sum() > 0) for g in grads) == coarse_used
