"""Evaluation of M_0..M_T: answers to the eval prompts, then pairwise judging against the references.

Answers depend on how prompts are batched, so their key holds the batch and shard layout
(`GENERATION_KEY`). The judge stage's key is the judge's verdict fingerprint (`judge_fingerprint`:
its settings minus `OPERATIONAL_FIELDS`, the one list of judge knobs that cannot change a verdict, plus
the prompt wording) and the two fields that change the annotations without changing a verdict: the
output-order coin and the annotator label. Cache paths, endpoints, timeouts, concurrency, retries and
prices never enter it, so a moved cache or a slower server does not re-judge."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from humpback import prompts
from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_jsonl
from humpback.evaluation.annotations import write_annotations
from humpback.evaluation.judges import attach_extras, judge_fingerprint
from humpback.evaluation.judging import annotate, make_judge
from humpback.evaluation.metrics import win_rate_metrics
from humpback.inference import make_engine
from humpback.models.config import ModelConfig
from humpback.stages import files
from humpback.stages.context import RunContext
from humpback.stages.models import model_dir
from humpback.stages.sharded import GENERATION_KEY, GENERATION_VERSION, map_in_shards


def generate_answers(ctx: RunContext, name: str, model_cfg: ModelConfig, model_art: Artifact, eval_art: Artifact,
                     trained_with_tags: bool) -> Artifact:
    cfg = ctx.cfg
    tag_mode = cfg.eval.inference_tags if trained_with_tags else "none"  # untagged models never saw a tag
    if tag_mode not in prompts.INFERENCE_TAGS:
        raise ValueError(f"eval.inference_tags={tag_mode!r}: choose one of {list(prompts.INFERENCE_TAGS)}")
    tags = prompts.INFERENCE_TAGS[tag_mode]

    def run(work: Path) -> dict[str, Any]:
        records = read_jsonl(eval_art.path / files.EVAL)
        engine = make_engine(model_dir(model_art), model_cfg, cfg.generate)

        def answer(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
            asks = [engine.format(prompts.add_tags(r["instruction"], tags)) for r in chunk]
            outs = engine.generate(asks, cfg.generate.answer, seed=cfg.generate.seed)
            return [{"id": r.get("id"), "instruction": r["instruction"], "output": o, "generator": name} for r, o in zip(chunk, outs)]

        with engine:
            rows, shards = map_in_shards(records, answer, work, f"eval {name}: answering", cfg.generate.shard_size,
                                         workers=cfg.workers)
        write_jsonl(work / files.OUTPUTS, rows)
        lengths = [len(r["output"]) for r in rows]
        return {"count": len(rows), "inference_tags": tag_mode, "output_chars_mean": sum(lengths) / max(1, len(lengths)),
                "empty_outputs": sum(1 for n in lengths if n == 0), **shards}

    config = {"inference_tags": tag_mode, **ctx.config("generate.answer", *GENERATION_KEY)}
    return ctx.stage(f"gen {name}", "generate", GENERATION_VERSION, config, {"model": model_art, "eval": eval_art}, run, model=name)


def judge_answers(ctx: RunContext, name: str, answers_art: Artifact, eval_art: Artifact) -> Artifact:
    cfg = ctx.cfg

    def run(work: Path) -> dict[str, Any]:
        records = read_jsonl(eval_art.path / files.EVAL)
        outputs = [r["output"] for r in read_jsonl(answers_art.path / files.OUTPUTS)]
        judge = make_judge(cfg.judge)
        rows = annotate(judge, records, outputs, name, cfg.judge.order_seed)
        attach_extras(judge, rows)  # raw completions, tokens, price per example
        write_annotations(work / files.ANNOTATIONS, rows)
        return {**win_rate_metrics(rows), "judge": dict(getattr(judge, "stats", {}))}

    key = {"verdicts": judge_fingerprint(cfg.judge), "order_seed": cfg.judge.order_seed, "annotator": cfg.judge.name}
    return ctx.stage(f"judge {name}", "judge", 1, key, {"answers": answers_art, "eval": eval_art}, run, model=name)
