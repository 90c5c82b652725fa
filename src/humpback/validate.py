"""Checks of a job's config before any stage runs (plan=true too): every choice in its set
(config.schema.CHOICES), every number in its range, the rules that tie fields together, and what a run
will read from outside the config (model folders, input files, the judge's endpoint and key).

Each rule is written once, here; a message names the config key, the value and what is allowed. A bad
value stops a plan as well as a run. What the machine lacks (a folder, a file, an API key) stops a run
but only warns in a plan, which reads nothing. Unset input paths are `stages.inputs.check_inputs`'s.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlparse

from omegaconf import OmegaConf

from humpback.config.schema import CHOICES, MODEL_CHOICES
from humpback.inference.config import SERVER_ENGINES
from humpback.stages.select import ORACLE_CURATORS

SCORE_SCALE = (1, 5)  # the curation prompt's 5-point scale: thresholds outside it keep nothing or everything
ROLES = ("backward", "curator", "student")


class ConfigError(ValueError):
    """Config values no run can use, each named by its key."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class _Check:
    def __init__(self, cfg: Any):
        self.cfg = cfg
        self.errors: list[str] = []  # values no run can use
        self.missing: list[str] = []  # what this machine lacks: a run stops, a plan warns

    def get(self, key: str) -> Any:
        return OmegaConf.select(self.cfg, key)  # None for null and for an unset "???"

    def plain(self, key: str) -> Any:
        """A list or dict as plain Python, "???" items kept as strings (iterating a ListConfig raises on them)."""
        value = self.get(key)
        return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value

    def choice(self, key: str, allowed: tuple[str, ...]) -> None:
        value = self.get(key)
        if value not in allowed:
            self.errors.append(f"{key}={value!r}: choose one of {', '.join(allowed)}")

    def at_least(self, key: str, low: float, why: str = "") -> None:
        value = self.get(key)
        if value is not None and value < low:
            self.errors.append(f"{key}={value}: must be >= {low}{why}")

    def positive(self, key: str) -> None:
        value = self.get(key)
        if value is not None and value <= 0:
            self.errors.append(f"{key}={value}: must be > 0")

    def within(self, key: str, low: float, high: float, why: str = "") -> None:
        value = self.get(key)
        if value is not None and not low <= value <= high:
            self.errors.append(f"{key}={value}: must be in [{low}, {high}]{why}")


def validate_config(cfg: Any, plan: bool = False) -> list[str]:
    """Raise ConfigError naming every bad value, and for a run everything this machine lacks too; a plan
    gets the latter back as warnings."""
    c = _Check(cfg)
    for key, allowed in CHOICES.items():
        c.choice(key, allowed)
    for prefix in _model_keys(cfg):
        _model(c, prefix)
    _ranges(c)
    _rules(c)
    _judge_annotator(c)
    _owned_elsewhere(c)
    _environment(c)
    if plan:  # unset inputs: check_inputs warns about them itself, with what that does to the plan's keys
        if c.errors:
            raise ConfigError(c.errors)
        return c.missing
    from humpback.stages.inputs import missing_inputs, unset_inputs_message

    unset = missing_inputs(cfg)
    if c.errors or c.missing or unset:
        raise ConfigError(c.errors + ([unset_inputs_message(unset)] if unset else []) + c.missing)
    return []


def _model_keys(cfg: Any) -> list[str]:
    return ["model", *(f"roles.{r}" for r in ROLES if OmegaConf.select(cfg, f"roles.{r}") is not None)]


def _model(c: _Check, prefix: str) -> None:
    for name, allowed in MODEL_CHOICES.items():
        c.choice(f"{prefix}.{name}", allowed)
    for name in ("vocab_size", "hidden_size", "intermediate_size", "num_layers", "num_heads", "num_kv_heads",
                 "max_position_embeddings", "tokenizer_max_docs"):
        c.at_least(f"{prefix}.scratch.{name}", 1)
    s = c.get(f"{prefix}.scratch")
    if s.num_heads >= 1 and s.num_kv_heads >= 1 and (s.hidden_size % s.num_heads or s.num_heads % s.num_kv_heads):
        c.errors.append(f"{prefix}.scratch: hidden_size={s.hidden_size} must divide by num_heads={s.num_heads}, "
                        f"and num_heads by num_kv_heads={s.num_kv_heads}")
    c.at_least(f"{prefix}.lora.r", 1)
    c.positive(f"{prefix}.lora.alpha")
    c.within(f"{prefix}.lora.dropout", 0, 1)


def _decode(c: _Check, prefix: str) -> None:
    c.at_least(f"{prefix}.temperature", 0)
    c.positive(f"{prefix}.top_p")
    c.within(f"{prefix}.top_p", 0, 1)
    c.at_least(f"{prefix}.max_new_tokens", 1)


def _ranges(c: _Check) -> None:
    scale = " (the curation prompt's score scale)"
    c.at_least("curate.iterations", 0)
    c.within("curate.threshold", *SCORE_SCALE, scale)
    c.within("student.threshold", *SCORE_SCALE, scale)
    c.within("curate.logprob_margin", 0, SCORE_SCALE[1] - SCORE_SCALE[0])
    for key in ("curate.samples", "curate.limit", "augment.limit", "student.size", "data.seed.n", "data.corpus.limit",
                "eval.set.limit", "generate.batch_size", "generate.shard_size", "generate.tensor_parallel",
                "generate.data_parallel", "generate.max_concurrency", "judge.max_tokens", "judge.max_concurrency",
                "judge.batch_size", "pretrain.steps", "pretrain.batch_size", "pretrain.block_size", "train.batch_size",
                "train.small_data_batch_size", "train.micro_batch_size", "train.steps", "train.max_seq_len", "train.devices",
                "train.num_nodes", "workers.count", "workers.threads"):
        c.at_least(key, 1)
    for key in ("augment.min_instruction_chars", "eval.draw_margin", "judge.temperature", "judge.top_logprobs",
                "judge.max_retries", "judge.backoff_s", "judge.max_backoff_s", "judge.price_per_1k_prompt_tokens",
                "judge.price_per_1k_completion_tokens", "logger.wandb.log_samples", "pretrain.lr_end", "pretrain.weight_decay",
                "pretrain.warmup_steps", "train.lr_end", "train.weight_decay", "train.warmup_steps", "train.small_data_threshold",
                "train.checkpoint_every_n_steps", "backward.lr_end", "workers.min_rows"):
        c.at_least(key, 0)
    for key in ("pretrain.lr", "train.lr", "train.epochs", "backward.lr", "backward.epochs", "judge.timeout_s"):
        c.positive(key)
    c.within("train.dropout", 0, 1)
    c.within("eval.set.dev_fraction", 0, 1)
    for prefix in ("curate.decode", "generate.answer", "generate.instruction"):
        _decode(c, prefix)
    betas = c.plain("train.betas")
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        c.errors.append(f"train.betas={betas}: need two numbers in [0, 1)")
    for size, pair in (c.plain("train.schedule") or {}).items():
        if not str(size).isdigit() or int(size) < 1 or len(pair) != 2 or min(pair) < 1:
            c.errors.append(f"train.schedule.{size}={pair}: need a size >= 1 mapped to [batch >= 1, steps >= 1]")


def _rules(c: _Check) -> None:
    """Fields that only make sense together."""
    toy = c.get("data.source") == "toyworld"
    T = c.get("curate.iterations")
    if c.get("data.corpus.format") == "toyworld" and not toy:
        c.errors.append("data.corpus.format=toyworld: the toy world's pages exist only with data.source=toyworld")
    if toy:
        for key in ("data.world.n_seed", "data.world.n_eval"):  # an empty seed or eval set is no experiment
            c.at_least(key, 1)
    if T is not None and T >= 1:
        if not c.get("student.seed_data") and not c.get("student.augmented"):
            c.errors.append("student.seed_data=false and student.augmented=false: the final model would have no training data")
        if c.get("student.threshold") is not None:
            external = c.get("roles.curator")
            raters = [f"curator {external.name}"] if external is not None else [f"M_{k}" for k in range(T)]
            c.choice("student.curator", ("previous", *ORACLE_CURATORS, *raters))
            if c.get("student.curator") in ORACLE_CURATORS and not toy:
                c.errors.append(f"student.curator={c.get('student.curator')}: gold grades exist only in the toy world (data.source=toyworld)")
    eval_from_world = toy and c.get("eval.set.format") == "toyworld"  # read as the world wrote it: no split
    split, dev = c.get("eval.set.split"), c.get("eval.set.dev_fraction")
    if not eval_from_world and (split, dev) in (("dev", 0), ("test", 1)):
        c.errors.append(f"eval.set.split={split} with eval.set.dev_fraction={dev}: the split holds no prompt")
    kind = c.get("judge.kind")
    if kind == "oracle" and c.get("eval.set.format") != "toyworld":
        c.errors.append(f"judge.kind=oracle checks the toy world's facts, which eval.set.format={c.get('eval.set.format')} "
                        f"records lack: choose judge=api or judge=hf")
    if kind in ("api", "hf") and c.get("judge.prompt_format") == "logprob":
        c.at_least("judge.top_logprobs", 1, " (judge.prompt_format=logprob reads the first token's alternatives)")
    if (c.get("judge.backoff_s") or 0) > (c.get("judge.max_backoff_s") or 0):
        c.errors.append(f"judge.backoff_s={c.get('judge.backoff_s')}: must be <= judge.max_backoff_s={c.get('judge.max_backoff_s')}")
    for key in ("judge.base_url", *(["generate.base_url"] if c.get("generate.engine") == "openai" else [])):
        url = c.get(key)
        if url is not None and (urlparse(url).scheme not in ("http", "https") or not urlparse(url).hostname):
            c.errors.append(f"{key}={url!r}: need an http(s)://host[:port]/... URL")


def _judge_annotator(c: _Check) -> None:
    """judge.annotator: our wording, or an AlpacaEval annotator the installed alpaca-eval ships (a plan needs
    it too: the judge key holds its config digest)."""
    from humpback.evaluation.judges.alpaca import annotator_problem

    problem = annotator_problem(c.get("judge.annotator"), c.get("judge.kind"))
    if problem:
        c.errors.append(problem)


def _owned_elsewhere(c: _Check) -> None:
    """The toy world's and the segmenter's own validators, run now instead of when their stage starts."""
    from humpback.data.toyworld.config import validate as validate_world
    from humpback.data.web import validate_config as validate_segment

    checks = [("data.segment", lambda: validate_segment(c.get("data.segment")))]
    if c.get("data.source") == "toyworld":
        checks.append(("data.world", lambda: validate_world(OmegaConf.to_object(c.get("data.world")))))
    for key, check in checks:
        try:
            check()
        except ValueError as e:
            c.errors.append(f"{key}: {str(e).removeprefix('toy world: ')}")


def _environment(c: _Check) -> None:
    from humpback.stages.inputs import UNSET

    used = sorted({f"roles.{r}" if c.get(f"roles.{r}") is not None else "model" for r in ROLES})  # loaded by a run
    for prefix in used:
        source, path = c.get(f"{prefix}.source"), c.get(f"{prefix}.path")
        if source == "local":
            _model_folder(c, f"{prefix}.path", path, f"{prefix}.source=local")
        elif source == "hub" and not path:
            c.missing.append(f"{prefix}.path is not set: {prefix}.source=hub needs a hub model id")
    engine = c.get("generate.engine")
    if engine in SERVER_ENGINES:  # its command, before any training: vLLM lives in its own venv, often elsewhere
        from humpback.inference.servers import missing_command

        spec = c.get(f"generate.servers.{engine}")
        problem = missing_command(engine, spec) if spec is not None else f"generate.servers.{engine} is not set"
        if problem:
            c.missing.append(problem)
    kind = c.get("judge.kind")
    if kind == "hf":
        _model_folder(c, "judge.model", c.get("judge.model"), "judge.kind=hf")
    elif kind == "api":
        from humpback.inference.openai_engine import api_key_from_env

        try:
            api_key_from_env(c.get("judge.api_key_env"), c.get("judge.base_url"))
        except RuntimeError as e:
            c.missing.append(f"judge.api_key_env: {e}")

    def local_file(key: str, path: Optional[str], hub_ok: bool) -> None:
        from humpback.data.seed_formats.rows import is_hub_name

        if path not in UNSET and not Path(path).expanduser().exists() and not (hub_ok and is_hub_name(path)):
            c.missing.append(f"{key}={path!r}: no such file" + (" (nor a hub dataset owner/name)" if hub_ok else ""))

    if c.get("data.source") == "files":
        local_file("data.seed.path", c.get("data.seed.path"), hub_ok=True)
    if not (c.get("data.source") == "toyworld" and c.get("eval.set.format") == "toyworld"):
        local_file("eval.set.path", c.get("eval.set.path"), hub_ok=True)
        local_file("eval.set.reference_path", c.get("eval.set.reference_path"), hub_ok=True)
    local_file("curate.gold_path", c.get("curate.gold_path"), hub_ok=False)
    if c.get("data.corpus.format") != "toyworld":
        for pattern in c.plain("data.corpus.paths") or []:
            if pattern not in UNSET and not glob.glob(str(Path(pattern).expanduser())):
                c.missing.append(f"data.corpus.paths: {pattern!r} matches no file")


def _model_folder(c: _Check, key: str, path: Optional[str], needed_by: str) -> None:
    """A local HF model folder: weights' config.json, or a LoRA adapter's adapter_config.json."""
    if not path:
        c.missing.append(f"{key} is not set: {needed_by} needs a local model folder")
        return
    folder = Path(path).expanduser()
    if not folder.is_dir():
        c.missing.append(f"{key}={path!r}: no such folder ({needed_by} loads a model from it)")
    elif not any((folder / name).is_file() for name in ("config.json", "adapter_config.json")):
        c.missing.append(f"{key}={path!r}: not an HF model folder (no config.json)")
