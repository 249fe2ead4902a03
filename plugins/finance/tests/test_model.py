"""Model helpers: sequence windows follow the time rule, fusion picks its weight on validation."""

from __future__ import annotations

import numpy as np

from seek_finance.model import Fusion, assemble, positive_weight, sequence_index


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


def test_imbalance_weights() -> None:
    y = np.r_[np.ones(10), np.zeros(990)]
    assert positive_weight(y, "none") == 1.0
    assert positive_weight(y, "balanced") == 99.0
    assert abs(positive_weight(y, "sqrt") - 99**0.5) < 1e-12
