"""One W&B run per Hydra job. Offline unless logged in; a W&B failure is logged once and the job goes on.

What reaches the run, as the job goes:
- every training stage's curve, train/<model>/{loss,lr} against its own step metric train/<model>/step:
  live from Lightning (`training_logger`), or, for a model not trained in this process (found in the
  cache, or trained by a multi-process child), from its history when its stage ends;
- every stage's folder as a W&B artifact, by reference to the cache (uploaded only with
  logger.wandb.upload_artifacts): the run's output when computed here, its input (use_artifact) when
  found in the cache, as an earlier job made it. W&B's lineage graph links artifacts through runs, so
  the stage-to-stage edges within a job are each artifact's metadata `inputs`;
- at the end (`log_results`): curation histograms, sample tables, the summary.
"""

from __future__ import annotations

import logging
import netrc
import os
import re
from pathlib import Path
from typing import Any, Callable

from humpback.data.records import read_jsonl
from humpback.evaluation.annotations import read_annotations
from humpback.stages import files

log = logging.getLogger("humpback")

# W&B artifact type of each stage kind's folder.
ARTIFACT_TYPES = {"world": "dataset", "seed": "dataset", "eval_set": "dataset", "segments": "dataset", "augment": "dataset",
                  "curate": "scores", "oracle_scores": "scores", "base": "model", "pretrain": "model", "finetune": "model",
                  "generate": "outputs", "judge": "annotations"}
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL", re.IGNORECASE)


def _logged_in() -> bool:
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def resolve_mode(mode: str) -> str:
    if mode == "auto":
        return "online" if _logged_in() else "offline"
    if mode not in ("online", "offline", "disabled"):
        raise ValueError(f"logger.wandb.mode={mode!r}: choose auto, online, offline or disabled")
    return mode


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "/"))
        elif isinstance(v, (int, float, str, bool)) or v is None:
            out[key] = v
    return out


def redact(config: Any, env: dict[str, str] | None = None) -> Any:
    """`config` with every string holding the value of a secret-named environment variable (an API key
    that a ${oc.env:...} interpolation pulled in) replaced: a config may name such a variable, never hold it."""
    env = os.environ if env is None else env
    secrets = [v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8]

    def walk(x: Any) -> Any:
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return "<redacted>" if isinstance(x, str) and any(s in x for s in secrets) else x

    return walk(config)


def artifact_name(stage_name: str) -> str:
    """'gen M_1' -> 'gen-M_1': W&B artifact names hold letters, digits, '-', '_' and '.'."""
    return re.sub(r"[^\w.-]+", "-", stage_name)


class Tracker:
    """Thin, failure-proof wrapper: every method is a no-op once W&B is disabled or failed to start."""

    def __init__(self, mode: str, job_dir: Path, project: str, entity: str | None, name: str, group: str | None,
                 job_type: str, tags: list[str], config: dict[str, Any], upload_artifacts: bool = False):
        self.run = None
        self.mode = resolve_mode(mode)
        self.upload_artifacts = upload_artifacts
        self._failed: set[str] = set()  # what failed once: warned about, not again
        self._curves: set[str] = set()  # models whose step metric is defined
        self._live: set[str] = set()  # models whose curve Lightning streamed in the current stage
        self._names: dict[tuple[str, str], str] = {}  # (stage kind, key) -> its W&B artifact name in this run
        if self.mode == "disabled":
            return
        try:
            import wandb

            self.run = wandb.init(project=project, entity=entity, name=name, group=group, job_type=job_type, tags=tags,
                                  config=redact(config), dir=str(job_dir), mode=self.mode, save_code=False,
                                  reinit="finish_previous", settings=wandb.Settings(console="off", quiet=True))
        except Exception as e:  # W&B must never fail the job
            log.warning("W&B disabled for this job: %s", e)
            self.run = None
            return
        where = self.location()
        if self.mode == "offline":  # wandb itself is quiet: say where the run is, and how it reaches W&B
            log.info("W&B offline run: %s (upload: wandb sync %s)", where, where)
        else:
            log.info("W&B run: %s", where)

    def _safe(self, what: str, fn: Callable[[], Any]) -> Any:
        if self.run is None:
            return None
        try:
            return fn()
        except Exception as e:
            if what not in self._failed:
                self._failed.add(what)
                log.warning("W&B %s failed (the job goes on; later %s failures are not reported): %s", what, what, e)
            return None

    def training_logger(self, model: str) -> Any:
        """A Lightning logger that streams `model`'s training curve to this run; None without a run."""
        if self.run is None:
            return None

        def make():
            from humpback.tracking.lightning import StageLogger

            return StageLogger(self, model)

        return self._safe("logger", make)

    def log_train(self, model: str, metrics: dict[str, float], step: int | None, live: bool = False) -> None:
        """One training row of `model`: train/<model>/<metric>, with train/<model>/step as its x axis."""
        def do():
            prefix = f"train/{model}"
            if model not in self._curves:
                self.run.define_metric(f"{prefix}/step")
                self.run.define_metric(f"{prefix}/*", step_metric=f"{prefix}/step")
                self._curves.add(model)
            row = {f"{prefix}/{k}": v for k, v in metrics.items()}
            self.run.log({**row, **({f"{prefix}/step": step} if step is not None else {})})
            if live:
                self._live.add(model)

        self._safe("curve", do)

    def log_curve(self, model: str, history: list[dict[str, float]]) -> None:
        for h in history:
            self.log_train(model, {"loss": h["loss"], "lr": h["lr"]}, h["step"])

    def log_stage(self, record: Any, upstream: dict[str, Any]) -> None:
        """As a stage ends (a StageRecord and its upstream {role: cache Artifact}): its curve, unless
        Lightning streamed it, and its folder as an artifact."""
        if self.run is None:
            return
        history = record.metrics.get("history")
        if history and record.model and record.model not in self._live:
            self.log_curve(record.model, history)
        self._live.discard(record.model)
        self._safe("artifact", lambda: self._log_artifact(record, upstream))

    def _log_artifact(self, record: Any, upstream: dict[str, Any]) -> None:
        import wandb

        name = artifact_name(record.name)
        inputs = {role: {"artifact": self._names.get((a.stage, a.key)), "stage": a.stage, "key": a.key}
                  for role, a in upstream.items()}
        metrics = {k: v for k, v in record.metrics.items() if k != "history"}
        art = wandb.Artifact(name, type=ARTIFACT_TYPES.get(record.stage, record.stage),
                             metadata={"stage": record.stage, "key": record.key, "model": record.model, "inputs": inputs,
                                       "metrics": flatten(metrics)})
        if self.upload_artifacts:
            art.add_dir(record.path)
        else:  # no checksum: the folder's path holds its cache key, which already names the content
            art.add_reference(Path(record.path).as_uri(), checksum=False)
        if not record.cached:
            self.run.log_artifact(art)
        elif self.mode == "offline":
            # use_artifact refuses offline runs; this is what it does online with a new artifact: log it,
            # marked as used (`wandb sync` replays it), so the version an earlier job logged becomes an input.
            self.run._log_artifact(art, is_user_created=True, use_after_commit=True)
        else:
            self.run.use_artifact(art)
        self._names[(record.stage, record.key)] = name

    def log_table(self, key: str, rows: list[dict[str, Any]]) -> None:
        def do():
            import wandb

            if rows:
                cols = list(rows[0])
                self.run.log({key: wandb.Table(columns=cols, data=[[r.get(c) for c in cols] for r in rows])})

        self._safe("table", do)

    def log_histogram(self, key: str, counts: dict[str, int]) -> None:
        def do():
            import wandb

            table = wandb.Table(columns=["score", "count"], data=[[k, v] for k, v in counts.items()])
            self.run.log({key: wandb.plot.bar(table, "score", "count", title=key)})

        self._safe("histogram", do)

    def summary(self, summary: dict[str, Any]) -> None:
        self._safe("summary", lambda: self.run.summary.update(flatten(summary)))

    def location(self) -> str | None:
        if self.run is None:
            return None
        if self.mode == "offline":
            return str(Path(self.run.dir).parent)
        return self.run.url

    def finish(self, exit_code: int | None = None) -> None:
        self._safe("finish", lambda: self.run.finish(exit_code=exit_code))


def log_results(tracker: Tracker, records: list[Any], arts: Any, summary: dict[str, Any], n_samples: int) -> None:
    """The end of a job (its StageRecords, PipelineArtifacts and summary): histograms, sample tables, summary."""
    if tracker.run is None:
        return
    for t, c in summary["curation"].items():
        tracker.log_histogram(f"curation/{t}/score_histogram", c["score_histogram"])
    for model, verdicts in arts.verdicts.items():
        rows = read_annotations(verdicts.path / files.ANNOTATIONS)[:n_samples]
        tracker.log_table(f"samples/{model}/eval", [
            {k: r.get(k) for k in ("instruction", "output_1", "output_2", "preference")} for r in rows])
    cands = read_jsonl(arts.candidates.path / files.CANDIDATES)[:n_samples]
    for rec in records:
        if rec.stage == "curate":
            scores = {r["id"]: r for r in read_jsonl(Path(rec.path) / files.SCORES)}
            tracker.log_table(f"samples/{rec.name}/ratings", [
                {"instruction": c["instruction"], "output": c["output"], "score": scores[c["id"]]["score"],
                 "rating": (scores[c["id"]].get("raw") or [""])[0]} for c in cands if c["id"] in scores])
    tracker.summary({k: summary[k] for k in ("axes", "final", "models", "data", "curation", "curator_quality", "paired", "paired_accuracy", "gold",
                                             "computed_stages", "cached_stages", "seconds", "warnings") if k in summary})
