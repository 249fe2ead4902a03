"""Report figures are written as PNGs into the run folder."""

from __future__ import annotations

import numpy as np

from seek.evaluation import alert_queue, plot_alert_queue, plot_roc_pr, plot_score_distribution
from seek.runs import RunFolder


def test_roc_pr_scores_and_alert_queue_are_pngs_in_the_run(tmp_path) -> None:
    run = RunFolder(tmp_path / "run")
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.2).astype(int)
    scores = np.clip(rng.random(500) * 0.6 + labels * 0.4, 0, 1)
    figures = plot_roc_pr(run, labels, {"a": scores, "b": 1 - scores}, max_fpr=0.01)
    figures.append(plot_score_distribution(run, labels, scores, threshold=0.5))
    days = np.repeat(np.arange(5), 100)
    figures.append(plot_alert_queue(run, alert_queue(days, np.arange(500) % 37, labels, scores, 0.5), "cards"))
    for figure in figures:
        data = (run.path / figure.path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000
