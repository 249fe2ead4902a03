"""RunContext: what an app gets besides its config — device, seed, run folder, resume, data, trainers, stages.

Apps use these and never their own: ``ctx.trainer(model, ctx.trainer_config(epochs=3))`` is a Trainer
on the run's device, seed, checkpoints and callbacks, resuming when the run resumes; ``with
ctx.stage("features"):`` times a stage (the timings land in metrics.json as ``time_<stage>_s`` and in
the report); ``ctx.reject(frame, "reason")`` keeps rejected rows (written to rejected.parquet with
counts); ``ctx.load_table()`` reads the user's ``--data`` through the app's DataSpec. The first frame
validated (``load_table``/``validate``) becomes the run's drift reference unless the app gives its
training features to ``ctx.reference(frame)``; the runner writes it (seek.monitoring.reference).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from seek.errors import DataError

if TYPE_CHECKING:
    import polars as pl

    from seek.data.spec import DataInput, DataSpec, LoadedTable
    from seek.runs import RunFolder
    from seek.training import Trainer, TrainerConfig

T = TypeVar("T")
REJECTED = "rejected.parquet"
#: Called as ``listener(event, stage, seconds)`` with event "start" or "end" (progress displays, trackers).
StageListener = Callable[[str, str, float], None]


class RunContext:
    """The run's settings and services, handed to ``App.run``."""

    def __init__(
        self,
        run: RunFolder,
        device: str = "cpu",
        seed: int = 0,
        resume: bool = False,
        logger: logging.Logger | None = None,
        show_progress: bool = True,
        callbacks: list[Any] | None = None,
        data: DataInput | None = None,
        data_spec: DataSpec | None = None,
        accept_rejects: bool = False,
        stage_listeners: list[StageListener] | None = None,
    ) -> None:
        from seek.app import seed_everything
        from seek.artifacts import ArtifactWriter

        self.run = run
        self.device = device
        self.seed = seed
        self.resume = resume
        self.logger = logger or logging.getLogger("seek.run")
        self.show_progress = show_progress
        #: Extra trainer callbacks from the caller (e.g. ``seek tune``'s pruning); ``ctx.trainer`` passes them on.
        self.callbacks = list(callbacks or [])
        #: The user's ``--data`` (None: the app uses its built-in data).
        self.data = data
        self.data_spec = data_spec
        self.accept_rejects = accept_rejects
        self.artifacts = ArtifactWriter(run)
        #: Stage name -> seconds, in the order the stages ran.
        self.timings: dict[str, float] = {}
        self.stage_listeners = list(stage_listeners or [])
        self._rejected: list[pl.DataFrame] = []
        self.rows_in = 0
        self._reference: Any = None  # a seek.monitoring.reference.Reference
        seed_everything(seed)

    @property
    def path(self) -> Path:
        """The run folder."""
        return self.run.path

    # ---- stages -------------------------------------------------------------------------------------

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage of the run; nested or repeated names add up."""
        for listener in self.stage_listeners:
            listener("start", name, 0.0)
        self.logger.info("stage %s: started", name)
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds = time.perf_counter() - started
            self.timings[name] = self.timings.get(name, 0.0) + seconds
            self.logger.info("stage %s: %.1f s", name, seconds)
            for listener in self.stage_listeners:
                listener("end", name, seconds)

    def progress(self, iterable: Iterable[T], total: int | None = None, description: str = "") -> Iterator[T]:
        """Iterate with a bar in the run's progress display (silent when progress is off)."""
        if not self.show_progress:
            yield from iterable
            return
        from seek.progress import track

        yield from track(iterable, total=total, description=description)

    # ---- training -----------------------------------------------------------------------------------

    def trainer_config(self, **values: Any) -> TrainerConfig:
        """A TrainerConfig with the run's seed (and any values given) — pass it to :meth:`trainer`."""
        from seek.training import TrainerConfig

        values.setdefault("seed", self.seed)
        return TrainerConfig(**values)

    def trainer(
        self,
        model: Any,
        config: TrainerConfig | None = None,
        *,
        name: str | None = None,
        callbacks: Iterable[Any] = (),
        **kwargs: Any,
    ) -> Trainer:
        """A Trainer on the run's device with its callbacks and checkpoints (``name`` separates several trainers).

        Call ``trainer.fit(train, val, resume=ctx.resume)``: a resumed run continues from the last good
        checkpoint of this trainer, or logs that there is none and trains from the start.
        """
        from seek.runs import RunFolder
        from seek.training import Trainer

        run = self.run
        if name is not None:
            sub = self.run.path / "trainers" / name
            sub.mkdir(parents=True, exist_ok=True)
            run = RunFolder(sub, resume=True)
        return Trainer(
            model,
            config or self.trainer_config(),
            callbacks=[*self.callbacks, *callbacks],
            run=run,
            device=self.device,
            progress=self.show_progress,
            **kwargs,
        )

    # ---- data ---------------------------------------------------------------------------------------

    def load_table(self) -> LoadedTable:
        """Read ``ctx.data`` through the app's DataSpec; rejected rows are kept with :meth:`reject`."""
        from seek.data.spec import load_table

        if self.data is None or self.data_spec is None:
            raise DataError("this run has no --data input (the app should use its built-in data)")
        from seek.data.rejects import require_rows

        with self.stage("load"):
            table = load_table(self.data, self.data_spec)
        self.rows_in += table.rows_in
        self.reject(table.rejected)
        require_rows(table.frame, table.rejected, table.source, table.rows_in, str(self.run.path / REJECTED))
        self.check_rejects(table.rows_in, table.rejected, table.source)
        self._input_reference(table.frame)
        return table

    def validate(self, frame: pl.DataFrame, source: str = "built-in data") -> pl.DataFrame:
        """Run built-in (e.g. simulated) data through the app's DataSpec like a user's file; return the kept rows."""
        from seek.data.spec import DataSpec, validate_table

        with self.stage("validate"):
            table = validate_table(frame, self.data_spec or DataSpec(), source)
        self.rows_in += table.rows_in
        self.reject(table.rejected)
        self.check_rejects(table.rows_in, table.rejected, source)
        self._input_reference(table.frame)
        return table.frame

    # ---- drift reference ----------------------------------------------------------------------------

    def reference(self, features: Any, **options: Any) -> None:
        """Keep ``features`` (a polars frame or served-style records) as the drift reference of this run."""
        from seek.monitoring.reference import build_reference, features_frame

        frame = features if hasattr(features, "columns") else features_frame(features)
        self._reference = build_reference(frame, seed=self.seed, **options)

    def _input_reference(self, frame: pl.DataFrame) -> None:
        if self._reference is None and frame.height:
            from seek.monitoring.reference import build_reference

            self._reference = build_reference(frame, seed=self.seed)

    def write_reference(self) -> bool:
        """Write the drift reference (reference.json + .parquet, recorded as artifacts) if there is one."""
        if self._reference is None:
            return False
        from seek.monitoring.reference import save_reference

        save_reference(self.run, self._reference, self.artifacts)
        return True

    def reject(self, frame: pl.DataFrame, reason: str | None = None, step: str | None = None) -> int:
        """Keep rejected rows for rejected.parquet (with ``reason``/``step`` columns when given); return the count."""
        import polars as pl

        if frame.height == 0:
            return 0
        if reason is not None:
            frame = frame.with_columns(pl.lit(reason).alias("reason"))
        if step is not None:
            frame = frame.with_columns(pl.lit(step).alias("step"))
        self._rejected.append(frame)
        return frame.height

    @property
    def rows_rejected(self) -> int:
        """Rows rejected so far in this run."""
        return sum(frame.height for frame in self._rejected)

    def check_rejects(self, rows_in: int, rejected: int | pl.DataFrame, source: str) -> float:
        """Fail when every row is rejected; warn above the spec's share, fail above its limit unless accepted."""
        from seek.data.rejects import LIMIT_SHARE, WARN_SHARE, check_reject_share

        count = rejected if isinstance(rejected, int) else rejected.height
        if rows_in and count == rows_in:
            raise DataError(f"{source}: all {rows_in:,} rows rejected, see {self.run.path / REJECTED}")
        spec = self.data_spec
        return check_reject_share(
            rows_in,
            rejected,
            source,
            warn=spec.warn_rejects if spec is not None else WARN_SHARE,
            limit=spec.max_rejects if spec is not None else LIMIT_SHARE,
            accept=self.accept_rejects,
            rejected_file=str(self.run.path / REJECTED),
        )

    def write_rejected(self) -> int:
        """Write every rejected row to rejected.parquet (atomically); returns the count. Called by the runner."""
        if not self._rejected:
            return 0
        import polars as pl

        frame = pl.concat(self._rejected, how="diagonal_relaxed")
        with self.run.writing(REJECTED) as tmp:
            frame.write_parquet(tmp)
        return frame.height
