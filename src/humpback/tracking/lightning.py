"""Lightning's WandbLogger on the job's W&B run, with one training stage's metric names."""

from __future__ import annotations

from typing import Any, Mapping, Optional

from pytorch_lightning.loggers import WandbLogger


class StageLogger(WandbLogger):
    """What the module logs at each optimizer step (train/loss, train/lr, and Lightning's epoch) reaches
    the job's run as train/<model>/<metric> against train/<model>/step. It goes through the tracker, so
    the names have one owner and a W&B failure never stops training."""

    def __init__(self, tracker: Any, model: str):
        super().__init__(experiment=tracker.run)  # attach to the job's run: never a run of its own
        self._tracker, self._model = tracker, model

    def log_metrics(self, metrics: Mapping[str, float], step: Optional[int] = None) -> None:
        # Lightning passes the optimizer steps done before this one; the module's history counts this one.
        step = None if step is None else step + 1
        self._tracker.log_train(self._model, {k.removeprefix("train/"): v for k, v in metrics.items()}, step, live=True)

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Nothing: the run's config is the job's resolved config; a stage's own settings are in its manifest."""
