"""Input stages: the toy world, the seed set, the eval set, and web segments."""

from __future__ import annotations

import glob
import logging
import re
from pathlib import Path
from typing import Any, Iterator

from omegaconf import OmegaConf

from humpback.cache import Artifact
from humpback.data.records import read_jsonl, write_json, write_jsonl
from humpback.stages.context import RunContext

log = logging.getLogger("humpback")

UNSET = (None, "???")  # "???" also arrives resolved from presets' ${oc.env:VAR,???}
_ENV_VAR = re.compile(r"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)")


def _unset_hint(key: str, raw: Any) -> str:
    env = _ENV_VAR.search(str(raw))
    return f"{key} (set ${env.group(1)} or override {key}=...)" if env else f"{key} (override {key}=...)"


def missing_inputs(cfg: Any) -> list[str]:
    """The input paths this config reads but leaves unset, each with how to set it."""
    from humpback.data.seed import HUB_DEFAULTS

    def slice_of(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        node = OmegaConf.select(cfg, path)
        return OmegaConf.to_container(node, resolve=True), OmegaConf.to_container(node, resolve=False)

    missing = []
    from_world = cfg.data.source == "toyworld"
    seed, seed_raw = slice_of("data.seed")
    if not from_world and seed["path"] in UNSET and (seed["path"] == "???" or seed["format"] not in HUB_DEFAULTS):
        missing.append(_unset_hint("data.seed.path", seed_raw["path"]))
    corpus, corpus_raw = slice_of("data.corpus")
    if corpus["format"] != "toyworld" and (not corpus["paths"] or any(p in UNSET for p in corpus["paths"])):
        missing.append(_unset_hint("data.corpus.paths", corpus_raw["paths"]))
    evalset, evalset_raw = slice_of("eval.set")
    if not (from_world and evalset["format"] == "toyworld") and evalset["path"] in UNSET:
        missing.append(_unset_hint("eval.set.path", evalset_raw["path"]))
    return missing


def check_inputs(ctx: RunContext) -> None:
    """Stop a run before any work when an input path is unset; a plan only warns (its keys then hash the placeholder)."""
    missing = missing_inputs(ctx.cfg)
    if not missing:
        return
    message = "input paths not set: " + "; ".join(missing)
    if ctx.plan:
        log.warning("%s. The plan's keys for those stages will change once they are set.", message)
        return
    raise ValueError(message)


def world(ctx: RunContext) -> Artifact | None:
    if ctx.cfg.data.source != "toyworld":
        return None
    from humpback.data.toyworld import TOYWORLD_VERSION, build_world

    def run(work: Path) -> dict[str, Any]:
        build_world(OmegaConf.to_object(ctx.cfg.data.world)).write(work)
        return {name: len(read_jsonl(work / f"{name}.jsonl")) for name in ("seed", "pages", "corpus", "eval")}

    return ctx.stage("world", "world", TOYWORLD_VERSION, ctx.config("data.world"), {}, run)


def seed(ctx: RunContext, world_art: Artifact | None) -> Artifact:
    def run(work: Path) -> dict[str, Any]:
        if world_art is not None:
            rows, stats = read_jsonl(world_art.path / "seed.jsonl"), {}
        else:
            from humpback.data.seed import load_seed_with_stats

            rows, stats = load_seed_with_stats(OmegaConf.to_object(ctx.cfg.data.seed))
        write_jsonl(work / "seed.jsonl", rows)
        return {"count": len(rows), "exclusions": stats}

    upstream = {"world": world_art} if world_art else {}
    config = {} if world_art else ctx.config("data.seed")
    return ctx.stage("seed", "seed", 1, config, upstream, run)


def eval_set(ctx: RunContext, world_art: Artifact | None) -> Artifact:
    def run(work: Path) -> dict[str, Any]:
        if world_art is not None and ctx.cfg.eval.set.format == "toyworld":
            rows = read_jsonl(world_art.path / "eval.jsonl")
        else:
            from humpback.data.evalsets import load_eval_set

            rows = load_eval_set(OmegaConf.to_object(ctx.cfg.eval.set))
        if ctx.cfg.eval.set.limit is not None:
            rows = rows[: ctx.cfg.eval.set.limit]
        write_jsonl(work / "eval.jsonl", rows)
        return {"count": len(rows), "with_reference": sum(1 for r in rows if r.get("output"))}

    use_world = world_art is not None and ctx.cfg.eval.set.format == "toyworld"
    return ctx.stage("eval_set", "eval_set", 1, ctx.config("eval.set"), {"world": world_art} if use_world else {}, run)


def _documents(ctx: RunContext, world_art: Artifact | None, stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    from humpback.data.web import iter_html_documents, iter_text_documents, iter_warc_documents

    corpus = ctx.cfg.data.corpus
    if corpus.format == "toyworld":
        if world_art is None:
            raise ValueError("data.corpus.format=toyworld needs data.source=toyworld")
        yield from read_jsonl(world_art.path / "pages.jsonl")
        return
    paths = sorted(p for pattern in corpus.paths for p in glob.glob(str(Path(pattern).expanduser())))
    if not paths:
        raise FileNotFoundError(f"data.corpus.paths={list(corpus.paths)} matched no file")
    if corpus.format == "warc":
        for p in paths:
            yield from iter_warc_documents(p, stats=stats)
    elif corpus.format == "html":
        yield from iter_html_documents(paths)
    elif corpus.format == "jsonl":
        for p in paths:
            yield from iter_text_documents(p, text_field=corpus.text_field, id_field=corpus.id_field)
    else:
        raise ValueError(f"unknown data.corpus.format {corpus.format!r} (toyworld | warc | html | jsonl)")


def segments(ctx: RunContext, world_art: Artifact | None) -> Artifact:
    from itertools import islice

    from humpback.data.web import segment_documents

    def run(work: Path) -> dict[str, Any]:
        read_stats: dict[str, int] = {}
        docs = _documents(ctx, world_art, read_stats)
        if ctx.cfg.data.corpus.limit is not None:
            docs = islice(docs, ctx.cfg.data.corpus.limit)
        segs, report = segment_documents(docs, OmegaConf.to_object(ctx.cfg.data.segment))
        report = {**report, "reader": read_stats}
        write_jsonl(work / "segments.jsonl", segs)
        write_json(work / "report.json", report)
        return report

    upstream = {"world": world_art} if world_art and ctx.cfg.data.corpus.format == "toyworld" else {}
    return ctx.stage("segments", "segments", 1, ctx.config("data.corpus", "data.segment"), upstream, run)
