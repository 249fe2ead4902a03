"""The run's protocol: prequential validation folds."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import polars as pl
import pytest

from seek.config import resolve_config
from seek.errors import ConfigError
from seek_finance.app import FraudApp, FraudConfig
from seek_finance.pipeline import periods_for, prequential_periods


def _frame(first: str, last: str) -> pl.DataFrame:
    return pl.DataFrame({"timestamp": [datetime.fromisoformat(first), datetime.fromisoformat(last)]})


def test_each_prequential_fold_moves_train_and_validation_back_one_validation_period() -> None:
    config = resolve_config(FraudConfig, overrides=["protocol.prequential_folds=3", "protocol.validation=5d"])
    frame = _frame("2018-04-01 00:00", "2018-06-30 23:00")
    periods = periods_for(frame, config)
    folds = prequential_periods(frame, periods, config)
    assert len(folds) == 2
    for k, fold in enumerate(folds, start=1):
        shift = timedelta(days=5 * k)
        assert fold.val_start == periods.val_start - shift and fold.delay_start == periods.delay_start - shift
        assert fold.val_start - fold.train_start == config.protocol.train
        assert fold.delay_start - fold.val_start == config.protocol.validation


def test_one_fold_adds_no_earlier_period() -> None:
    config = resolve_config(FraudConfig)
    frame = _frame("2018-04-01 00:00", "2018-06-30 23:00")
    assert prequential_periods(frame, periods_for(frame, config), config) == []


def test_more_folds_than_the_data_holds_is_a_config_error_naming_how_many_fit() -> None:
    # 50 days: test 7 + delay 7 + validation 7 + train 21 = 42 days leave room for one more week only.
    config = resolve_config(FraudConfig, overrides=["protocol.prequential_folds=4"])
    frame = _frame("2018-04-01 00:00", "2018-05-20 23:00")
    with pytest.raises(ConfigError, match="prequential_folds=4: fold 2 would train from .* at most 2 folds fit"):
        prequential_periods(frame, periods_for(frame, config), config)


@pytest.mark.slow
def test_a_prequential_fold_scores_what_a_run_with_the_test_week_moved_back_scores(tmp_path) -> None:
    from seek.runner import execute

    app = FraudApp()
    base = ["simulator.n_days=50", "sequence.enabled=false"]

    def metrics(name: str, *overrides: str) -> dict[str, float]:
        config = resolve_config(app.Config, base=app.tiny, overrides=[*base, *overrides])
        execute(app, config, out=tmp_path / name, device="cpu", show_progress=False)
        return json.loads((tmp_path / name / "metrics.json").read_text())

    test_start = date(2018, 4, 1) + timedelta(days=43)
    folded = metrics("folds", f"protocol.test_start={test_start}", "protocol.prequential_folds=2")
    earlier = metrics("earlier", f"protocol.test_start={test_start - timedelta(days=7)}")
    fold_aps = [folded["lgbm_val_average_precision"], earlier["lgbm_val_average_precision"]]
    assert fold_aps[0] != fold_aps[1]
    assert folded["lgbm_prequential_average_precision"] == pytest.approx(sum(fold_aps) / 2, abs=1e-12)
    assert earlier["lgbm_prequential_average_precision"] == earlier["lgbm_val_average_precision"]
    assert (tmp_path / "folds" / "report.md").read_text().count("2 prequential folds") == 1
