"""Bad input, table-driven: every case fails with a message naming the config key or the file:line,
and leaves nothing in the cache a rerun would trust. Config errors are caught before any stage (plan=true
too), so those cases create no cache at all; no case trains a model.

CONFIG_CASES fail in `validate_config`, COMPOSE_CASES in Hydra's composition (types, unknown keys),
DATA_CASES in the loader of the first stage that reads the bad file. WARNING_CASES are inputs a user
may mean (a threshold that keeps nothing, unreadable pages among good ones): the run goes on, and says so.
"""

from __future__ import annotations

import gzip
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from humpback.app import run_job
from humpback.config.schema import register_configs
from humpback.data.records import DataError, write_jsonl
from humpback.paths import conf_dir, register_resolvers
from humpback.summary import summary_warnings
from humpback.validate import ConfigError
from tests.helpers import TEST_SCALE

REPO = Path(__file__).resolve().parents[2]

# A data.source=files job over the small good files of the `files` fixture; cases swap one for a bad one.
FILES = ["data=files", "data.seed.format=jsonl", "data.seed.path={seed}", "data.corpus.format=jsonl",
         "data.corpus.paths=[{corpus}]", "eval.set.format=toyworld", "eval.set.path={eval}"]
LOOPBACK = "judge.base_url=http://127.0.0.1:9/v1"

# (case, overrides, what the message must name); {name} is a path from the `files` fixture.
CONFIG_CASES = [
    ("iterations_negative", ["curate.iterations=-1"], ["curate.iterations=-1", ">= 0"]),
    ("iterations_negative_plan", ["curate.iterations=-1", "plan=true"], ["curate.iterations=-1"]),
    ("student_threshold_above_scale", ["student.threshold=9"], ["student.threshold=9", "[1, 5]"]),
    ("curate_threshold_below_scale", ["curate.threshold=0.5"], ["curate.threshold=0.5", "[1, 5]"]),
    ("judge_kind_bogus", ["judge.kind=bogus"], ["judge.kind='bogus'", "oracle, api, hf"]),
    ("judge_kind_bogus_plan", ["judge.kind=bogus", "plan=true"], ["judge.kind='bogus'"]),
    ("curate_mode_bogus", ["curate.mode=bogus"], ["curate.mode='bogus'", "generate, logprob"]),
    ("curate_mode_bogus_plan", ["curate.mode=bogus", "plan=true"], ["curate.mode='bogus'"]),
    ("engine_bogus", ["generate.engine=bogus"], ["generate.engine='bogus'", "hf, openai"]),
    ("engine_bogus_plan", ["generate.engine=bogus", "plan=true"], ["generate.engine='bogus'"]),
    ("inference_tags_bogus", ["eval.inference_tags=S_b"], ["eval.inference_tags='S_b'", "S_a+S_w"]),
    ("slot_layout_bogus", ["curate.slot_layout=tab"], ["curate.slot_layout='tab'", "newline"]),
    ("student_init_bogus", ["student.init=random"], ["student.init='random'", "base, previous"]),
    ("eval_models_bogus", ["eval.models=some"], ["eval.models='some'", "all, final"]),
    ("wandb_mode_bogus", ["logger.wandb.mode=loud"], ["logger.wandb.mode='loud'", "offline"]),
    ("model_source_bogus", ["model.source=cloud"], ["model.source='cloud'", "scratch, local, hub"]),
    ("model_dtype_bogus", ["model.dtype=fp8"], ["model.dtype='fp8'", "bfloat16"]),
    ("student_curator_unknown", ["student.curator=M_5"], ["student.curator='M_5'", "previous, oracle, oracle_pair, M_0, M_1"]),
    ("student_curator_oracle_without_world", [*FILES, "student.curator=oracle"], ["student.curator=oracle", "toy world"]),
    ("student_size_zero", ["student.size=0"], ["student.size=0", ">= 1"]),
    ("shard_size_zero", ["generate.shard_size=0"], ["generate.shard_size=0"]),
    ("batch_size_negative", ["generate.batch_size=-4"], ["generate.batch_size=-4"]),
    ("rating_samples_zero", ["curate.samples=0"], ["curate.samples=0"]),
    ("top_p_zero", ["generate.answer.top_p=0"], ["generate.answer.top_p=0", "> 0"]),
    ("temperature_negative", ["curate.decode.temperature=-1"], ["curate.decode.temperature=-1"]),
    ("dropout_above_one", ["train.dropout=1.5"], ["train.dropout=1.5", "[0, 1]"]),
    ("learning_rate_zero", ["train.lr=0"], ["train.lr=0", "> 0"]),
    ("betas_out_of_range", ["train.betas=[0.9,1.5]"], ["train.betas=[0.9, 1.5]"]),
    ("schedule_key_not_a_size", ["+train.schedule.many=[8,30]"], ["train.schedule.many"]),
    ("heads_do_not_divide", ["model.scratch.num_heads=3"], ["model.scratch", "num_heads=3"]),
    ("student_without_data", ["student.seed_data=false", "student.augmented=false"], ["student.seed_data=false", "no training data"]),
    ("world_without_eval", ["data.world.n_eval=0"], ["data.world.n_eval=0"]),
    ("world_without_seed", ["data.world.n_seed=0"], ["data.world.n_seed=0"]),
    ("world_share_out_of_range", ["data.world.seed_fraction=1.5"], ["data.world", "seed_fraction"]),
    ("segment_window_inverted", ["data.segment.min_chars=5000"], ["data.segment", "min_chars"]),
    ("corpus_toyworld_without_world", [*FILES, "data.corpus.format=toyworld"], ["data.corpus.format=toyworld", "data.source=toyworld"]),
    ("oracle_judge_on_alpaca_eval", [*FILES, "eval.set.format=alpaca_eval"], ["judge.kind=oracle", "eval.set.format=alpaca_eval"]),
    ("dev_split_left_empty", [*FILES, "eval.set.split=dev", "eval.set.dev_fraction=0"], ["eval.set.split=dev", "dev_fraction=0"]),
    ("seed_n_zero", [*FILES, "data.seed.n=0"], ["data.seed.n=0"]),
    ("eval_limit_zero", ["eval.set.limit=0"], ["eval.set.limit=0"]),
    ("hf_judge_unset", ["judge=hf"], ["judge.model is not set", "judge.kind=hf"]),
    ("hf_judge_folder_missing", ["judge=hf", "judge.model={tmp}/no_such_judge"], ["judge.model=", "no_such_judge", "no such folder"]),
    ("hf_judge_folder_not_a_model", ["judge=hf", "judge.model={empty_dir}"], ["judge.model=", "no config.json"]),
    ("local_model_missing", ["model=local", "model.path={tmp}/no_such_model"], ["model.path=", "no_such_model"]),
    ("role_model_missing", ["+roles/curator=local", "roles.curator.path={tmp}/no_such_curator"],
     ["roles.curator.path=", "no_such_curator"]),
    ("api_judge_without_key", ["judge=api"], ["judge.api_key_env", "OPENAI_API_KEY"]),
    ("api_judge_url_not_http", ["judge=api", "judge.base_url=ftp://judge.example/v1"], ["judge.base_url='ftp://judge.example/v1'"]),
    ("api_judge_without_alternatives", ["judge=api", LOOPBACK, "judge.top_logprobs=0"], ["judge.top_logprobs=0", "logprob"]),
    ("api_backoff_above_cap", ["judge=api", LOOPBACK, "judge.backoff_s=10", "judge.max_backoff_s=1"], ["judge.backoff_s=10"]),
    ("gold_labels_missing", ["curate.gold_path={tmp}/gold.jsonl"], ["curate.gold_path=", "gold.jsonl", "no such file"]),
    ("corpus_glob_matches_nothing", [*FILES, "data.corpus.paths=[{tmp}/none/*.jsonl]"], ["data.corpus.paths", "matches no file"]),
    ("seed_file_missing", [*FILES, "data.seed.path={tmp}/missing_seed.jsonl"], ["data.seed.path=", "missing_seed.jsonl"]),
    ("eval_path_unset", [*FILES, "eval.set.path=null"], ["input paths not set", "eval.set.path"]),
]

# Hydra rejects these while composing, before humpback sees the config.
COMPOSE_CASES = [
    ("iterations_wrong_type", ["curate.iterations=two"], ["curate.iterations", "two"]),
    ("threshold_wrong_type", ["student.threshold=high"], ["student.threshold", "high"]),
    ("tags_not_a_bool", ["student.tags=maybe"], ["student.tags", "maybe"]),
    ("unknown_key", ["curate.iteratons=3"], ["iteratons"]),
]

# (case, files to write {name: bytes}, overrides, what the message must name, stages allowed to finish first)
GOOD_SEED = b'{"instruction": "Name a colour.", "output": "Blue."}\n{"instruction": "Name a fruit.", "output": "A pear."}\n'
GOOD_EVAL = b'{"instruction": "Name a tree."}\n{"instruction": "Name a bird."}\n'
# Rows that barely compress, so cutting the .gz in half cuts the stream (300 repeated rows would fit in 200 bytes).
MANY = b"".join(b'{"instruction": "q%d", "output": "%s"}\n' % (i, hashlib.sha256(b"%d" % i).hexdigest().encode()) for i in range(300))
HALF_GZ = gzip.compress(MANY)[: len(gzip.compress(MANY)) // 2]
DATA_CASES = [
    ("seed_not_utf8", {"seed": GOOD_SEED + b'{"instruction": "caf\xe9", "output": "x"}\n'}, [],
     ["{seed}:3: not valid UTF-8", "0xe9"], set()),
    ("seed_bad_json", {"seed": GOOD_SEED[:60] + b'\n{"instruction": "x",\n'}, [], ["{seed}:2: not valid JSON"], set()),
    ("seed_not_an_object", {"seed": b'["Name a colour.", "Blue."]\n'}, [], ["{seed}:1: expected a JSON object"], set()),
    ("seed_empty", {"seed": b""}, [], ["{seed}: no seed pairs"], set()),
    ("seed_all_rows_excluded", {"seed": b'{"instruction": "q", "output": "  "}\n'}, [], ["{seed}: no seed pairs", "empty_output"], set()),
    ("seed_missing_field", {"seed": b'{"instruction": "q"}\n'}, [], ["{seed}:1: missing field 'output'"], set()),
    ("seed_wrong_type", {"seed": b'{"instruction": "q", "output": 5}\n'}, [], ["{seed}:1: field 'output' should be a string"], set()),
    ("seed_duplicate_id", {"seed": b'{"id": "a", "instruction": "q", "output": "x"}\n{"id": "a", "instruction": "r", "output": "y"}\n'},
     [], ["{seed}: id 'a' is used by two different pairs"], set()),
    ("seed_gzip_truncated", {"seed_gz": HALF_GZ}, ["data.seed.path={seed_gz}"],
     ["{seed_gz}:", "truncated or corrupt gzip"], set()),
    ("seed_gzip_not_gzip", {"seed_gz": GOOD_SEED}, ["data.seed.path={seed_gz}"], ["{seed_gz}:1:", "gzip"], set()),
    ("seed_json_list_not_utf8", {"seed_json": b'[\n{"instruction": "q", "output": "x"},\n{"instruction": "\xff", "output": "y"}\n]\n'},
     ["data.seed.path={seed_json}"], ["{seed_json}:3: not valid UTF-8"], set()),
    ("seed_json_list_bad_json", {"seed_json": b'[\n{"instruction": "q", "output": "x"}\n{"instruction": "r"}\n]\n'},
     ["data.seed.path={seed_json}"], ["{seed_json}:3: not valid JSON"], set()),
    ("seed_parquet_garbage", {"seed_parquet": b"PAR1 this is no parquet file"}, ["data.seed.path={seed_parquet}"],
     ["{seed_parquet}: not a readable Parquet file"], set()),
    ("seed_path_is_a_folder", {}, ["data.seed.path={empty_dir}"], ["{empty_dir}: is not a file"], set()),
    ("eval_not_utf8", {"eval": b'{"instruction": "Name a tree."}\n{"instruction": "Nenne einen B\xe4r."}\n'}, [],
     ["{eval}:2: not valid UTF-8"], {"seed"}),
    ("eval_empty", {"eval": b"\n\n"}, [], ["{eval}: no eval prompts"], {"seed"}),
    ("eval_duplicate_prompt", {"eval": GOOD_EVAL + b'{"instruction": "Name a tree."}\n'}, [],
     ["{eval}:3: instruction 'Name a tree.' appears twice (also at {eval}:1)"], {"seed"}),
    ("eval_duplicate_id", {"eval": b'{"id": "x", "instruction": "a"}\n{"id": "x", "instruction": "b"}\n'}, [],
     ["{eval}:2: id 'x' appears twice"], {"seed"}),
    ("eval_gzip_truncated", {"eval_gz": HALF_GZ}, ["eval.set.path={eval_gz}"],
     ["{eval_gz}:", "truncated or corrupt gzip"], {"seed"}),
    ("corpus_empty", {"corpus": b""}, [], ["{corpus}: no documents"], {"seed", "eval_set"}),
    ("corpus_not_utf8", {"corpus": b'{"id": 1, "text": "fine"}\n{"id": 2, "text": "\xc3("}\n'}, [],
     ["{corpus}:2: not valid UTF-8"], {"seed", "eval_set"}),
    ("corpus_missing_text", {"corpus": b'{"id": 1, "body": "no text field"}\n'}, [], ["{corpus}:1: missing field"], {"seed", "eval_set"}),
]

PATHS = {"seed": "seed.jsonl", "eval": "eval.jsonl", "corpus": "corpus.jsonl", "seed_gz": "seed.jsonl.gz",
         "eval_gz": "eval.jsonl.gz", "seed_json": "seed.json", "seed_parquet": "seed.parquet"}


@pytest.fixture(scope="module")
def compose_cfg():
    """Compose as `humpback` does (the real YAML and schema), initialising Hydra once for the module."""
    register_resolvers()
    register_configs()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        yield lambda overrides: compose(config_name="config", overrides=[*TEST_SCALE, "logger=none", *overrides])


@pytest.fixture
def files(tmp_path, monkeypatch) -> dict[str, str]:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "seed.jsonl").write_bytes(GOOD_SEED)
    (tmp_path / "eval.jsonl").write_bytes(GOOD_EVAL)
    write_jsonl(tmp_path / "corpus.jsonl", [{"id": 1, "text": "# A page\n\nSome text about trees."}])
    (tmp_path / "empty").mkdir()
    return {"tmp": str(tmp_path), "empty_dir": str(tmp_path / "empty"), **{k: str(tmp_path / v) for k, v in PATHS.items()}}


def _fill(items: list[str], files: dict[str, str]) -> list[str]:
    return [s.format(**files) for s in items]


def _manifests(cache: Path) -> set[str]:
    """Stages with a finished artifact in the cache: what a rerun would trust."""
    return {p.parent.parent.name for p in cache.rglob("manifest.json")} if cache.exists() else set()


@pytest.mark.parametrize("case, overrides, needles", CONFIG_CASES, ids=[c[0] for c in CONFIG_CASES])
def test_config_errors_name_the_key_before_any_stage(compose_cfg, files, tmp_path, case, overrides, needles):
    cfg = compose_cfg([*_fill(overrides, files), f"cache_dir={tmp_path / 'cache'}"])
    with pytest.raises(ConfigError) as err:
        run_job(cfg, job_dir=str(tmp_path / "job"))
    for needle in _fill(needles, files):
        assert needle in str(err.value), (needle, str(err.value))
    assert not (tmp_path / "cache").exists() and not (tmp_path / "job").exists()  # caught before anything was written


@pytest.mark.parametrize("case, overrides, needles", COMPOSE_CASES, ids=[c[0] for c in COMPOSE_CASES])
def test_wrong_types_and_unknown_keys_fail_while_composing(compose_cfg, case, overrides, needles):
    with pytest.raises(ConfigCompositionException) as err:
        compose_cfg(overrides)
    message = f"{err.value} {err.value.__cause__}"
    assert all(n in message for n in needles), message


@pytest.mark.parametrize("case, writes, overrides, needles, finished", DATA_CASES, ids=[c[0] for c in DATA_CASES])
def test_bad_files_are_named_with_their_line(compose_cfg, files, tmp_path, case, writes, overrides, needles, finished):
    for name, data in writes.items():
        Path(files[name]).write_bytes(data)
    cfg = compose_cfg([*_fill(FILES, files), *_fill(overrides, files), f"cache_dir={tmp_path / 'cache'}"])
    with pytest.raises(DataError) as err:
        run_job(cfg, job_dir=str(tmp_path / "job"))
    for needle in _fill(needles, files):
        assert needle in str(err.value), (needle, str(err.value))
    assert _manifests(tmp_path / "cache") == finished  # the failing stage left no artifact
    assert not (tmp_path / "job" / "summary.json").exists()


def test_binary_garbage_html_is_counted_and_named(tmp_path, caplog):
    from humpback.data.web import iter_html_documents, segment_documents

    prose = " ".join(f"Tree number {i} grows near the river and gives shade in summer." for i in range(15))
    page = f"<html><body><h2>Trees</h2><p>{prose}</p></body></html>"
    (tmp_path / "good.html").write_text(page)
    (tmp_path / "photo.html").write_bytes(bytes(range(256)) * 64)  # an image saved as .html
    with caplog.at_level("WARNING"):
        segments, report = segment_documents(iter_html_documents(tmp_path))
    assert report["documents"] == 2 and report["unreadable"] == 1 and len(segments) == 1
    assert f"document {tmp_path / 'photo.html'}: cannot segment" in caplog.text and "binary" in caplog.text
    assert "1 of 2 documents were unreadable" in caplog.text
    warnings = summary_warnings({"segments": report, "data": {"A": {"count": 1}}, "models": {}})
    assert warnings == ["segments: 1 of 2 documents were unreadable and left out (the log names them)"]


# Runs a user may mean, summarised as warnings rather than errors: (case, summary parts, warning).
A_OK = {"A": {"count": 12}}
WARNING_CASES = [
    ("zero_pairs_selected", {"data": {**A_OK, "A_1": {"count": 0, "threshold": 5.0, "curator": "M_0", "augmented": True}},
                             "models": {"M_1": {}}}, "M_1: 0 of 12 augmented pairs selected (threshold 5.0, curator M_0)"),
    ("no_segment_kept", {"segments": {"documents": 3, "kept": 0}, "data": {"A": {"count": 0}}}, "no segment kept of 3 documents"),
    ("judge_gave_no_verdict", {"data": A_OK, "models": {"M_0": {"n_total": 0, "n_dropped": 8}}}, "M_0: the judge gave no usable verdict"),
    ("some_verdicts_dropped", {"data": A_OK, "models": {"M_0": {"n_total": 6, "n_dropped": 2}}}, "M_0: 2 of 8 verdicts unusable"),
    ("curator_never_parsed", {"data": A_OK, "curation": {"1": {"pairs": 5, "unscored_pairs": 5, "curator": "M_0"}}},
     "curator M_0 gave no parseable score to any of 5 pairs"),
]


@pytest.mark.parametrize("case, parts, warning", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_runs_a_user_may_mean_warn_loudly(case, parts, warning):
    assert any(warning in w for w in summary_warnings(parts)), summary_warnings(parts)


def test_a_seed_only_student_does_not_warn_about_its_unused_selection():
    parts = {"data": {**A_OK, "A_1": {"count": 0, "threshold": 5.0, "curator": "M_0", "augmented": False}}, "models": {"M_1": {}}}
    assert summary_warnings(parts) == []


def test_console_prints_the_warnings(capsys):
    from rich.console import Console

    from humpback.tracking.console import print_summary

    print_summary({"models": {}, "warnings": ["M_1: 0 of 12 augmented pairs selected [k=5]"]}, Console(width=200))
    assert "warning: M_1: 0 of 12 augmented pairs selected [k=5]" in capsys.readouterr().out


def _humpback(*args: str, **env: str) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "humpback.cli.main", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HYDRA_FULL_ERROR": "0", **env})


def test_cli_prints_one_line_and_a_hint_not_a_traceback(tmp_path, files):
    r = _humpback("curate.iterations=-1", "judge.kind=bogus", f"cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if line.startswith(("humpback: error:", "hint:"))]
    assert lines[0] == "humpback: error: judge.kind='bogus': choose one of oracle, api, hf; curate.iterations=-1: must be >= 0"
    assert lines[1].startswith("hint: change the key named above")
    assert "Traceback" not in r.stderr and not (tmp_path / "cache").exists()

    Path(files["seed"]).write_bytes(b'{"instruction": "q", "output": "x"}\n{"instruction": "\xff"}\n')
    r = _humpback(*TEST_SCALE, *_fill(FILES, files), f"cache_dir={tmp_path / 'cache'}", "logger=none", f"hydra.run.dir={tmp_path / 'run2'}")
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert f"humpback: error: {files['seed']}:2: not valid UTF-8 (byte 0xff at column 18)" in r.stderr
    assert "hint: fix or replace the input named above" in r.stderr


def test_tracebacks_stay_for_bugs_and_on_request(monkeypatch):
    from humpback.cli.main import UserError, readable_errors

    def fail(err: Exception):
        with readable_errors():
            raise err

    with pytest.raises(UserError, match="humpback: error: x.jsonl:2: bad row\nhint: fix or replace"):
        fail(DataError("x.jsonl:2: bad row"))
    with pytest.raises(KeyError):  # a bug is no user error: Hydra prints its traceback
        fail(KeyError("id"))
    with pytest.raises(ValueError, match="invalid literal"):  # raised outside humpback's own code
        with readable_errors():
            int("x")
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(DataError):  # asked for: the original error, traceback and all
        fail(DataError("x.jsonl:2: bad row"))


def test_plan_reports_what_a_run_would_lack_instead_of_stopping(compose_cfg, tmp_path):
    from humpback.validate import validate_config

    cfg = compose_cfg(["judge=hf", f"judge.model={tmp_path / 'no_judge'}", "plan=true"])
    lacking = f"judge.model='{tmp_path / 'no_judge'}': no such folder (judge.kind=hf loads a model from it)"
    assert validate_config(cfg, plan=True) == [lacking]
    with pytest.raises(ConfigError, match="no_judge"):
        validate_config(cfg, plan=False)
