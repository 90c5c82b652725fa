"""Input stages: the toy world, the seed set, the eval set, and web segments.

Stages that read files are keyed by their config slice and the content digests of the files it names
(`humpback.cache.digest`): an edited input changes the key, a touched one does not. Paths stay in the
key too, as files' names can reach the rows (HTML document ids, the eval set's default `dataset` label).
"""

from __future__ import annotations

import glob
import logging
import re
from pathlib import Path
from typing import Any, Iterator, Optional

from omegaconf import OmegaConf

from humpback.cache import Artifact
from humpback.cache.digest import input_digests
from humpback.data.records import read_jsonl, write_json, write_jsonl
from humpback.data.toyworld.world import FILES as WORLD_FILES
from humpback.stages import files
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


def unset_inputs_message(missing: list[str]) -> str:
    return "input paths not set: " + "; ".join(missing)


def check_inputs(ctx: RunContext) -> None:
    """Stop a run before any work when an input path is unset; a plan only warns (its keys then hash the placeholder)."""
    missing = missing_inputs(ctx.cfg)
    if not missing:
        return
    message = unset_inputs_message(missing)
    if ctx.plan:
        log.warning("%s. The plan's keys for those stages will change once they are set.", message)
        return
    raise ValueError(message)


def _keyed_by_content(ctx: RunContext, config: dict[str, Any], paths: list[Optional[str]]) -> dict[str, Any]:
    """A key config that also holds the content digests of the input files at `paths`."""
    return {**config, "input_digests": input_digests(paths, ctx.store.root)}


def corpus_files(patterns: list[str]) -> list[str]:
    """What data.corpus.paths matches (files or folders), sorted: the files the segments stage reads."""
    return sorted(p for pattern in patterns if pattern not in UNSET for p in glob.glob(str(Path(pattern).expanduser())))


def world(ctx: RunContext) -> Artifact | None:
    if ctx.cfg.data.source != "toyworld":
        return None
    from humpback.data.toyworld import TOYWORLD_VERSION, build_world

    def run(work: Path) -> dict[str, Any]:
        build_world(OmegaConf.to_object(ctx.cfg.data.world)).write(work)
        return {name: len(read_jsonl(work / WORLD_FILES[name])) for name in ("seed", "pages", "corpus", "eval")}

    return ctx.stage("world", "world", TOYWORLD_VERSION, ctx.config("data.world"), {}, run)


def seed(ctx: RunContext, world_art: Artifact | None) -> Artifact:
    def run(work: Path) -> dict[str, Any]:
        if world_art is not None:
            rows, stats = read_jsonl(world_art.path / WORLD_FILES["seed"]), {}
        else:
            from humpback.data.seed import load_seed_with_stats

            rows, stats = load_seed_with_stats(OmegaConf.to_object(ctx.cfg.data.seed))
        write_jsonl(work / files.SEED, rows)
        return {"count": len(rows), "exclusions": stats}

    upstream, config = ({"world": world_art}, {}) if world_art else ({}, ctx.config("data.seed"))
    if not world_art:
        config = _keyed_by_content(ctx, config, [config["data.seed"]["path"]])
    return ctx.stage("seed", "seed", 1, config, upstream, run)


def eval_set(ctx: RunContext, world_art: Artifact | None) -> Artifact:
    def run(work: Path) -> dict[str, Any]:
        if world_art is not None and ctx.cfg.eval.set.format == "toyworld":
            rows = read_jsonl(world_art.path / WORLD_FILES["eval"])
        else:
            from humpback.data.evalsets import load_eval_set

            rows = load_eval_set(OmegaConf.to_object(ctx.cfg.eval.set))
        if ctx.cfg.eval.set.limit is not None:
            rows = rows[: ctx.cfg.eval.set.limit]
        write_jsonl(work / files.EVAL, rows)
        return {"count": len(rows), "with_reference": sum(1 for r in rows if r.get("output"))}

    use_world = world_art is not None and ctx.cfg.eval.set.format == "toyworld"
    config = ctx.config("eval.set")
    if not use_world:
        config = _keyed_by_content(ctx, config, [config["eval.set"]["path"], config["eval.set"]["reference_path"]])
    return ctx.stage("eval_set", "eval_set", 1, config, {"world": world_art} if use_world else {}, run)


def _documents(ctx: RunContext, world_art: Artifact | None, stats: dict[str, int]) -> Iterator[dict[str, Any]]:
    from humpback.data.web import iter_html_documents, iter_text_documents, iter_warc_documents

    corpus = ctx.cfg.data.corpus
    if corpus.format == "toyworld":
        if world_art is None:
            raise ValueError("data.corpus.format=toyworld needs data.source=toyworld")
        yield from read_jsonl(world_art.path / WORLD_FILES["pages"])
        return
    paths = corpus_files(list(corpus.paths))
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
        write_jsonl(work / files.SEGMENTS, segs)
        write_json(work / files.SEGMENT_REPORT, report)
        return report

    from_world = ctx.cfg.data.corpus.format == "toyworld"
    upstream = {"world": world_art} if world_art and from_world else {}
    config = ctx.config("data.corpus", "data.segment")
    if not from_world:
        config = _keyed_by_content(ctx, config, corpus_files(config["data.corpus"]["paths"]))
    return ctx.stage("segments", "segments", 1, config, upstream, run)
