"""The structured config of a humpback job. Hydra validates every YAML and override against these
dataclasses, so an unknown key or a wrong type fails at start with a readable message; values out of
their set (CHOICES below) or range fail before any stage runs too (humpback/validate.py).

Knobs the paper leaves unreported are marked so; the resolved config (with the values used) is saved
in every job dir and logged to W&B.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import II, OmegaConf

from humpback import prompts
from humpback.data import evalsets, seed
from humpback.data.evalsets import EvalSetConfig
from humpback.data.seed import SeedConfig
from humpback.data.toyworld import ToyWorldConfig
from humpback.data.web import SegmentConfig
from humpback.evaluation.judges.prompts import FORMATS as JUDGE_PROMPT_FORMATS
from humpback.inference import ENGINES
from humpback.inference.config import DecodeConfig, GenerateConfig
from humpback.models.config import ModelConfig, PretrainConfig, TrainConfig
from humpback.models.templates import TEMPLATES
from humpback.stages.workers import WorkersConfig


@dataclass
class CorpusConfig:
    format: str = "toyworld"  # toyworld (pages of the embedded world) | warc | html | jsonl (plain text)
    paths: list[str] = field(default_factory=list)  # files or globs for warc/html/jsonl
    text_field: str = "text"  # jsonl only
    id_field: str = "id"
    limit: Optional[int] = None  # cap on documents read (None = all)


@dataclass
class DataConfig:
    source: str = "toyworld"  # toyworld: everything comes from the embedded world | files: seed/corpus/eval from paths
    world: ToyWorldConfig = field(default_factory=ToyWorldConfig)
    seed: SeedConfig = field(default_factory=SeedConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)


@dataclass
class BackwardConfig:
    exclude_families: list[str] = field(default_factory=lambda: ["rating"])  # seed rows not reversed (toy rating examples)
    # M_yx's own schedule (null: train.*). The paper trains both directions alike; a scratch model's
    # backward fine-tune on 200 pairs keeps more of what pretraining taught at a gentler rate.
    lr: Optional[float] = None
    lr_end: Optional[float] = None
    epochs: Optional[float] = None


@dataclass
class AugmentConfig:
    limit: Optional[int] = None  # at most this many segments get an instruction (None = all)
    min_instruction_chars: int = 3  # shorter generated instructions are counted as empty and left out


@dataclass
class CurateConfig:
    iterations: int = 2  # T (paper: 2)
    mode: str = "generate"  # generate: sample a rating and parse "Score: k" (paper) | logprob: expected score from P(1..5) in one pass
    slot_layout: str = "newline"  # how <generated instruction> <output> are filled (unreported)
    threshold: float = 5.0  # k for the internal iterations t < T (paper: 5)
    samples: int = 1  # ratings sampled per pair and averaged ("score >= 4.5" reading; unreported)
    logprob_margin: float = 0.5  # logprob mode keeps expected score >= k - margin (the paper's "4.5")
    decode: DecodeConfig = field(default_factory=lambda: DecodeConfig(temperature=1.0, top_p=0.9, max_new_tokens=64))  # unreported
    limit: Optional[int] = None  # rate only the first N candidates (debugging)
    gold_path: Optional[str] = None  # labelled JSONL (id or output, label/grade) for curator precision/recall; toy world: its gold grades
    # Seed rows that teach the curation prompt itself (the toy world's rating examples) keep no tag in a tagged
    # mix: M_t is asked to rate without one, so a tag there would teach it a prompt it never gets as a curator.
    untagged_families: list[str] = field(default_factory=lambda: ["rating"])


@dataclass
class StudentConfig:
    """Data selection of the final model M_T: config of the last training stage only, so a sweep over
    k x N reuses segments, A, M_0 .. M_{T-1} and the scores."""

    threshold: Optional[float] = 5.0  # keep pairs with score >= k; null = no curation (all of A)
    size: Optional[int] = None  # N: sample this many of the kept pairs (None = all)
    seed_data: bool = True  # include the seed set (tagged S_a)
    augmented: bool = True  # include the selected augmented pairs (tagged S_w)
    tags: bool = True  # append S_a / S_w when seed and augmented are mixed (internal iterations are always tagged)
    init: str = "base"  # base: every M_t starts from the base model (paper, most likely) | previous: from M_{t-1}
    curator: str = "previous"  # whose scores select the final data: previous (M_{T-1}, paper) | M_0 .. M_{T-1} | oracle | oracle_pair (toy gold: stages.select.ORACLE_CURATORS)
    selection_seed: int = II("seed")  # which N of the kept pairs; follows the job's `seed` unless pinned


@dataclass
class EvalConfig:
    set: EvalSetConfig = field(default_factory=EvalSetConfig)
    inference_tags: str = "S_a+S_w"  # none | S_a | S_a+S_w for models trained with tags (paper best: S_a+S_w)
    models: str = "all"  # all: M_0..M_T | final: M_T only
    draw_margin: float = 0.0  # reserved for judges that return scores


@dataclass
class JudgeConfig:
    kind: str = "oracle"  # oracle (toy world) | api (OpenAI-compatible) | hf (local judge model)
    name: str = "toyworld_oracle"  # annotator name written into annotation files
    annotator: str = "humpback"  # api/hf: humpback (our wording, judge.prompt_format) | an AlpacaEval annotator (evaluation/judges/alpaca.py)
    order_seed: int = 0  # output order per instruction is a coin seeded by (order_seed, instruction)
    model: Optional[str] = None  # api: model name; hf: local folder
    base_url: Optional[str] = None  # api: OpenAI-compatible endpoint (null: the client's default); key only from the environment
    api_key_env: str = "OPENAI_API_KEY"  # api: environment variable holding the key (never put the key in a config)
    prompt_format: str = "ranking"  # api/hf: ranking (AlpacaEval 1) | logprob (AlpacaEval 2 single token m/M)
    temperature: float = 0.0  # api/hf: AlpacaEval 1 ranks at 0; logprobs are read before sampling either way
    max_tokens: int = 100  # api/hf ranking format: reply budget (AlpacaEval 1: 100); the logprob format reads 1 token
    top_logprobs: int = 5  # api/hf logprob format: alternatives read for the first token (AlpacaEval 2: 5)
    max_concurrency: int = 4  # api: requests in flight
    max_retries: int = 6  # api: retries of a request on 429 / 5xx / timeout / connection error
    timeout_s: float = 60.0  # api: per-request timeout
    backoff_s: float = 1.0  # api: first retry waits about this long, doubling each retry (jittered, >= Retry-After)
    max_backoff_s: float = 60.0  # api: cap on one wait
    price_per_1k_prompt_tokens: float = 0.0  # api: USD, for cost accounting (0: unknown)
    price_per_1k_completion_tokens: float = 0.0  # api: USD per 1k completion tokens (0: unknown)
    device: Optional[str] = None  # hf: torch device (null: cuda when available)
    batch_size: int = 8  # hf: prompts per forward pass
    cache_dir: Optional[str] = "${cache_dir}/judge_annotations"  # annotation cache (null: off); a rerun makes no judge calls
    extra: dict[str, Any] = field(default_factory=dict)  # api: extra request body fields sent as they are


@dataclass
class WandbConfig:
    mode: str = "auto"  # auto: online when logged in, else offline | online | offline | disabled
    project: str = "humpback"
    entity: Optional[str] = None
    group: Optional[str] = None  # default: the multirun sweep dir name
    tags: list[str] = field(default_factory=list)
    log_samples: int = 20  # rows in the sample tables (curated pairs, eval outputs)
    upload_artifacts: bool = False  # copy each stage's folder (models too) into W&B; false: reference the cache


@dataclass
class LoggerConfig:
    wandb: WandbConfig = field(default_factory=WandbConfig)


@dataclass
class RolesConfig:
    """Per-role models; null = the top-level `model`. A set curator is a fixed external rater (e.g. a
    strong local instruct model) used in every iteration instead of M_{t-1}."""

    backward: Optional[ModelConfig] = None  # base of M_yx
    curator: Optional[ModelConfig] = None  # null: M_{t-1} rates (paper)
    student: Optional[ModelConfig] = None  # base of M_0 .. M_T


@dataclass
class HumpbackConfig:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    roles: RolesConfig = field(default_factory=RolesConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    # train.seed and generate.seed follow `seed` here, not in their own dataclasses: those are also built
    # directly in plain Python (tests, train_job's child), where "${seed}" would stay an unresolved string.
    # Likewise the Lightning progress bar: on when stdout is a terminal, off in logs and pipes.
    train: TrainConfig = field(default_factory=lambda: TrainConfig(seed=II("seed"), progress_bar=II("hb_isatty:")))
    generate: GenerateConfig = field(default_factory=lambda: GenerateConfig(seed=II("seed")))
    backward: BackwardConfig = field(default_factory=BackwardConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    curate: CurateConfig = field(default_factory=CurateConfig)
    student: StudentConfig = field(default_factory=StudentConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    workers: WorkersConfig = field(default_factory=WorkersConfig)  # shard workers of long stages (operational: in no key)
    experiment_name: str = "default"  # label of the preset in use
    cache_dir: str = "outputs/cache"  # artifact store; relative to the directory humpback runs from
    # The replicate seed: model init, data order and dropout (train.seed), instruction / answer / rating
    # sampling (generate.seed) and the final selection's subsample (student.selection_seed) all follow it;
    # pin one of those alone to hold it fixed. Not the toy world's (data.world.seed) nor the judge's
    # output-order coin (judge.order_seed): `humpback -m seed=0,1,2` replicates over the same data and judge.
    seed: int = 0
    plan: bool = False  # print the stage DAG with cache keys and estimates, load no model


# The allowed values of every choice field, checked before any stage runs (humpback/validate.py; the
# data.world and data.segment choices are checked by their own validators). A set that another module
# dispatches on is taken from it, so each list has one owner.
CHOICES: dict[str, tuple[str, ...]] = {
    "data.source": ("toyworld", "files"),
    "data.corpus.format": ("toyworld", "warc", "html", "jsonl"),
    "data.seed.format": seed.FORMATS,
    "data.seed.turns": ("first", "all"),
    "eval.set.format": evalsets.FORMATS,
    "eval.set.split": evalsets.SPLITS,
    "eval.inference_tags": tuple(prompts.INFERENCE_TAGS),
    "eval.models": ("all", "final"),
    "curate.mode": ("generate", "logprob"),
    "curate.slot_layout": tuple(prompts.CURATION_SLOT_LAYOUTS),
    "student.init": ("base", "previous"),
    "judge.kind": ("oracle", "api", "hf"),
    "judge.prompt_format": JUDGE_PROMPT_FORMATS,
    "generate.engine": ENGINES,
    "logger.wandb.mode": ("auto", "online", "offline", "disabled"),
    "workers.launcher": ("local", "slurm"),
}
# The same for every model config: `model` and each set `roles.*`.
MODEL_CHOICES: dict[str, tuple[str, ...]] = {
    "source": ("scratch", "local", "hub"),
    "dtype": ("auto", "float32", "bfloat16", "float16"),
    "prompt_template": TEMPLATES,
}


def register_configs() -> None:
    if not OmegaConf.has_resolver("hb_isatty"):  # train.progress_bar's default above
        OmegaConf.register_new_resolver("hb_isatty", lambda: sys.stdout.isatty())  # read when resolved, not at import
    ConfigStore.instance().store(name="humpback_schema", node=HumpbackConfig)
