"""AlpacaEval's own annotators (judge.annotator=<name>, evaluation/judges/alpaca.py): every supported
shipped config renders and parses as AlpacaEval does, keeps the leaderboard's output order, and runs end to
end against a local server; our win-rate metrics agree with alpaca_eval.metrics on the shared annotation
files. Skipped, with the reason, where the `alpaca` extra (or ../shared/data) is absent."""

from __future__ import annotations

import ast
import json
import math
import os
import re
import subprocess
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest

from humpback.config.schema import JudgeConfig
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.judges import alpaca, attach_extras, judge_fingerprint
from humpback.evaluation.judges.prompted import ChatParams, ChatReply, PromptedJudge
from humpback.evaluation.judging import annotate, make_judge
from humpback.evaluation.metrics import win_rate_metrics
from humpback.serve import HumpbackServer, serve_in_thread
from humpback.validate import ConfigError, validate_config
from tests.conftest import REPO
from tests.helpers import TEST_SCALE, compose_config
from tests.judge_model import PREFERENCE_M

EXTRA = alpaca.configs_dir() is not None
NO_EXTRA = "alpaca-eval (the `alpaca` extra) is not installed: pip install -e '.[alpaca]'"
needs_extra = pytest.mark.skipif(not EXTRA, reason=NO_EXTRA)
SUPPORTED = alpaca.available()[1:]  # [] without the extra
LEADERBOARD = ("alpaca_eval_gpt4", "weighted_alpaca_eval_gpt4_turbo")  # AlpacaEval 1 and 2's leaderboard annotators


def each(*names: str) -> list[Any]:
    """Test parameters: the supported annotators (those named, or all); without the extra one skipped
    parameter that says why."""
    chosen = [n for n in SUPPORTED if not names or n in names]
    return chosen or [pytest.param(None, marks=pytest.mark.skip(reason=NO_EXTRA))]


@pytest.fixture(scope="module")
def alpaca_eval_lib() -> Iterator[types.ModuleType]:
    """alpaca_eval itself, as the reference to check against. Its utils module imports pkg_resources, which
    setuptools >= 81 no longer ships, for two version helpers that nothing checked here calls: where it is
    missing an empty stand-in is put in sys.modules for the import only."""
    if not EXTRA:
        pytest.skip(NO_EXTRA)
    with pytest.MonkeyPatch.context() as mp:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            mp.setitem(sys.modules, "pkg_resources", types.ModuleType("pkg_resources"))
        try:
            import alpaca_eval.completion_parsers
            import alpaca_eval.metrics
            import alpaca_eval.utils
        except Exception as err:  # noqa: BLE001 - any import failure: nothing to compare with here
            pytest.skip(f"alpaca_eval does not import in this environment ({type(err).__name__}: {err})")
    yield alpaca_eval


# ---- (a) every supported annotator: prompt, parser, order -------------------------------------------------

def _labels(a: alpaca.AlpacaEvalAnnotator) -> tuple[str, str]:
    """The names a ranking reply gives output_1 and output_2."""
    kw = a.parser_kwargs.get("parsers_to_kwargs", {}).get("ranking_parser") if a.parser == "pipeline_meta_parser" else a.parser_kwargs
    first = (kw or {}).get("model_1_name", "model_1")
    return first, {"model_1": "model_2", "m": "M"}[first]


def hand_made(a: alpaca.AlpacaEvalAnnotator, winner: int) -> ChatReply:
    """A reply, in this annotator's reply format, saying output `winner` (1 or 2) is better."""
    if a.parser == "logprob_parser":
        num = a.parser_kwargs["numerator_token"]
        other = next(t for t in a.parser_kwargs["denominator_tokens"] if t != num)
        best, worst = (num, other) if winner == 1 else (other, num)
        return ChatReply(best, [(best, math.log(0.8)), ("The", math.log(0.05)), (worst, math.log(0.2))])
    if a.parser == "regex_parser":
        return ChatReply("Output (a)" if winner == 1 else "Output (b)", None)
    m1, m2 = _labels(a)
    ranking = [{"model": m1, "rank": winner}, {"model": m2, "rank": 3 - winner}]
    if a.parser == "pipeline_meta_parser":
        return ChatReply(json.dumps({"concise_explanation": "because", "ordered_models": sorted(ranking, key=lambda r: r["rank"])}), None)
    return ChatReply(repr(sorted(ranking, key=lambda r: r["rank"])), None)


@needs_extra
def test_the_leaderboard_annotators_are_supported() -> None:
    assert set(LEADERBOARD) | {"alpaca_eval_gpt4_turbo_fn", "alpaca_eval_clf_gpt4_turbo", "chatgpt_fn"} <= set(SUPPORTED)
    a = alpaca.load_annotator("weighted_alpaca_eval_gpt4_turbo")
    assert (a.model, a.parser, a.params.max_tokens, a.params.temperature, a.params.top_logprobs) == (
        "gpt-4-1106-preview", "logprob_parser", 1, 1.0, 5)
    assert alpaca.load_annotator("alpaca_eval_gpt4").params == ChatParams(max_tokens=100, temperature=0.0, top_logprobs=0)
    fn = alpaca.load_annotator("alpaca_eval_gpt4_turbo_fn").params.extra
    assert fn["tool_choice"]["function"]["name"] == "make_partial_leaderboard" and fn["tools"][0]["function"]["strict"] is True


@pytest.mark.parametrize("name", each())
def test_prompt_renders_a_pair_with_nothing_left_of_the_template(name: str) -> None:
    a = alpaca.load_annotator(name)
    messages = a.messages("Say {hi} to {output_2}", "First answer {x}.", "Second <|im_start|> answer.")
    assert messages[-1]["role"] == "user" and {m["role"] for m in messages} <= {"system", "user", "assistant"}
    text = "\n".join(m["content"] for m in messages)
    assert not re.search(r"\{(instruction|output_1|output_2)\}", text.replace("Say {hi} to {output_2}", ""))
    assert text.count("Say {hi} to {output_2}") == 1 and text.count("First answer {x}.") == 1
    assert text.count("Second <|im_start|> answer.") == 1 and "<|im_end|>" not in text  # an output stays text inside its message
    assert text.index("First answer") < text.index("Second <|im_start|>")  # output_1 is shown first


@pytest.mark.parametrize("name", each())
def test_parser_reads_hand_made_replies(name: str) -> None:
    a = alpaca.load_annotator(name)
    soft = a.parser == "logprob_parser" and not a.parser_kwargs.get("is_binarize", True)
    assert a.parse(hand_made(a, 1))[0] == pytest.approx(1.2 if soft else 1.0)  # weighted: 2 - P(output_1's token) = 2 - 0.8
    assert a.parse(hand_made(a, 2))[0] == pytest.approx(1.8 if soft else 2.0)
    for junk in (ChatReply("", None), ChatReply("I cannot decide.", [("I", -0.1), ("The", -2.0)])):
        assert a.parse(junk)[0] is None  # no usable answer: None, never a guess


def test_parsers_follow_alpaca_eval_on_edge_cases() -> None:
    ranking, regex, pipeline, logprob = alpaca._ranking_parser, alpaca._regex_parser, alpaca._pipeline, alpaca._logprob_preference
    assert ranking("[{'model': 'model_2', 'rank': 1}, {'model': 'model_1', 'rank': 2}]") == [2]
    assert ranking([{"model": "M", "rank": 1.0}, {"model": "m", "rank": 2.0}], model_1_name="m") == [2.0]  # JSON numbers
    with pytest.raises(ValueError):
        ranking("[{'model': 'model_1', 'rank': 3}, {'model': 'model_2', 'rank': 1}]")
    match = {1: r"(?:^|\n) ?Output \(a\)", 2: r"(?:^|\n) ?Output \(b\)"}
    assert regex("Output (b)", match) == [2] and regex("Output (a)\nOutput (b)", match) == [1, 2] and regex("(a)", match) == []
    steps = [("json_parser", {"annotation_key": "ordered_models"}), ("ranking_parser", {"model_1_name": "m"})]
    assert pipeline('```json\n{"ordered_models": [{"model": "m", "rank": 1}, {"model": "M", "rank": 2}]}\n```', steps) == [1]
    assert logprob([("M", math.log(0.75)), ("m", math.log(0.25))], "m", ["m", "M"], is_binarize=False) == pytest.approx(1.75)
    assert logprob([(" m", -0.1), ("M", -3.0)], "m", ["m", "M"], is_binarize=False) == pytest.approx(2.0)  # tokens match exactly
    assert logprob([("m", -0.5), ("M", -0.6)], "m", ["m", "M"], is_binarize=True) == 1.0
    assert logprob([("The", -0.1)], "m", ["m", "M"], is_binarize=True) is None


@needs_extra
def test_regex_annotators_want_exactly_one_answer() -> None:
    a = alpaca.load_annotator("gpt4_turbo")
    assert a.parse(ChatReply("Output (b)", None))[0] == 2.0
    assert a.parse(ChatReply("Output (a)\nOutput (b)", None))[0] is None  # two annotations for a batch of one
    fn = alpaca.load_annotator("chatgpt_fn")
    assert fn.parse(ChatReply('{"best_output": "Output (a)"}', None))[0] == 1.0


@pytest.mark.parametrize("name", each("alpaca_eval_gpt4", "weighted_alpaca_eval_gpt4_turbo", "alpaca_eval_gpt4_turbo_fn", "chatgpt",
                                      "alpaca_eval_clf_gpt4_turbo"))
def test_rendering_and_parsing_match_alpaca_eval_itself(alpaca_eval_lib, name: str) -> None:
    import pandas as pd

    a = alpaca.load_annotator(name)
    df = pd.DataFrame([{"instruction": "Name a {fish}.", "output_1": "Trout.", "output_2": "A salmon, surely."}])
    prompts, _ = alpaca_eval_lib.utils.make_prompts(df, a.template, batch_size=1)
    assert a.messages("Name a {fish}.", "Trout.", "A salmon, surely.") == alpaca_eval_lib.utils.prompt_to_chatml(prompts[0].strip())
    theirs = getattr(alpaca_eval_lib.completion_parsers, a.parser)
    for winner in (1, 2):
        reply = hand_made(a, winner)
        if a.parser == "logprob_parser":
            completion: Any = {"logprobs": {"content": [{"top_logprobs": [{"token": t, "logprob": lp} for t, lp in reply.top_logprobs]}]}}
        else:
            completion = reply.text
        assert [a.parse(reply)[0]] == pytest.approx(theirs(completion, **a.parser_kwargs))


class TextJudgeTransport:
    """In memory: prefers the longer of the two outputs it is shown (found among `texts`), answering in the
    annotator's format."""

    def __init__(self, annotator: alpaca.AlpacaEvalAnnotator, texts: list[str]):
        self.annotator = annotator
        self.texts = texts
        self.shown: list[tuple[str, str]] = []

    def chat_many(self, conversations: list[list[dict[str, str]]], params: ChatParams):
        for i, conv in enumerate(conversations):
            content = conv[-1]["content"]
            first, second = sorted((t for t in self.texts if t in content), key=content.index)
            self.shown.append((first, second))
            yield i, hand_made(self.annotator, 1 if len(first) > len(second) else 2)


@pytest.mark.parametrize("name", each("alpaca_eval_gpt4", "weighted_alpaca_eval_gpt4_turbo", "aviary_gpt4"))
def test_order_follows_alpaca_evals_coin_and_preferences_flip_back(name: str) -> None:
    a = alpaca.load_annotator(name)
    records = [{"instruction": f"Question {i}?", "output": f"R{i}: brief." if i % 3 else f"R{i}: a long reference answer.",
                "generator": "ref"} for i in range(24)]
    outputs = [f"M{i}: a much longer model answer." if i % 3 else f"M{i}: tiny." for i in range(24)]
    transport = TextJudgeTransport(a, [r["output"] for r in records] + outputs)
    rows = annotate(PromptedJudge("t", transport, annotator=a), records, outputs, "M_0", order_seed=0)
    soft = a.parser == "logprob_parser"
    assert [r["preference"] for r in rows] == pytest.approx([(1.8 if soft else 2.0) if i % 3 else (1.2 if soft else 1.0) for i in range(24)])
    swapped = [r["swapped"] for r in rows]
    assert swapped == [a.swap(r["instruction"], 0) for r in records]
    if a.randomize_order:
        assert 0 < sum(swapped) < len(swapped)  # both orders were shown, and the verdicts above still follow content
        assert [(r["output_2"], r["output_1"]) if s else (r["output_1"], r["output_2"]) for r, s in zip(rows, swapped)] == transport.shown
    else:
        assert not any(swapped)


def test_coin_and_parser_reproduce_the_leaderboards_own_annotations(shared_data: Path) -> None:
    """AlpacaEval 2's stored annotations keep the judge's raw logprobs for the order it was shown: read back
    with our parser and mapped through our copy of AlpacaEval's coin, they give the stored preference."""
    if not EXTRA:
        pytest.skip(NO_EXTRA)
    a = alpaca.load_annotator("weighted_alpaca_eval_gpt4_turbo")
    for path in sorted((shared_data / "alpaca_eval/annotations_weighted_gpt4_turbo").glob("*.json")):
        checked = swapped = 0
        for row in read_annotations(path):
            raw = row.get("raw_completion")
            if raw is None or row.get("preference") is None:
                continue
            raw = ast.literal_eval(raw) if isinstance(raw, str) else raw
            top = [(t["token"], t["logprob"]) for t in raw["logprobs"]["content"][0]["top_logprobs"]]
            shown = a.parse(ChatReply(raw["message"]["content"], top))[0]
            swap = a.swap(row["instruction"], 0)
            assert (3 - shown if swap else shown) == pytest.approx(row["preference"], abs=1e-8), (path.name, row["instruction"])
            checked, swapped = checked + 1, swapped + swap
        assert checked >= 790 and 0.4 < swapped / checked < 0.6, path.name


# ---- (b) the API judge end to end ---------------------------------------------------------------------

def eval_rows(n: int) -> tuple[list[dict[str, Any]], list[str]]:
    records = [{"instruction": f"Describe the town number {i}.", "output": f"Town {i} is small.", "generator": "reference"} for i in range(n)]
    return records, [f"Town {i} has a harbour, a market and {i} bridges." for i in range(n)]


@needs_extra
def test_weighted_annotator_against_humpback_serve(backend, tmp_path: Path) -> None:
    """The tiny judge's first token is M with P = 3/4, m with 1/4 after any prompt: AlpacaEval's logprob parser
    reads 2 - P(m) = 1.75 for the order shown, and the row gets it back in the reference-first order."""
    records, outputs = eval_rows(8)
    cfg = JudgeConfig(kind="api", name="tiny", annotator="weighted_alpaca_eval_gpt4_turbo", model="judge", cache_dir=str(tmp_path))
    a = alpaca.load_annotator(cfg.annotator)
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        cfg.base_url = server.url
        judge = make_judge(cfg)
        rows = attach_extras(judge, annotate(judge, records, outputs, "M_0", cfg.order_seed))
        rerun = make_judge(cfg)
        again = annotate(rerun, records, outputs, "M_0", cfg.order_seed)
        served = server.stats()["completions"]
    expected = [3.0 - PREFERENCE_M if a.swap(r["instruction"], 0) else PREFERENCE_M for r in records]
    assert {e for e in expected} == {1.25, 1.75}  # both orders shown
    assert [r["preference"] for r in rows] == pytest.approx(expected, abs=1e-4)
    assert judge.stats["calls"] == 8 and judge.stats["parse_failures"] == 0 and served == 8
    assert rows[0]["completion_tokens"] == 1 and {t for t, _ in rows[0]["raw_completion"]["top_logprobs"][:2]} == {"m", "M"}
    assert rerun.stats["calls"] == 0 and [r["preference"] for r in again] == [r["preference"] for r in rows]


@needs_extra
def test_hf_judge_with_an_annotator_reads_the_same(judge_model_dir: Path, tmp_path: Path) -> None:
    records, outputs = eval_rows(4)
    cfg = JudgeConfig(kind="hf", annotator="weighted_alpaca_eval_gpt4_turbo", model=str(judge_model_dir), device="cpu", cache_dir=None)
    a = alpaca.load_annotator(cfg.annotator)
    rows = annotate(make_judge(cfg), records, outputs, "M_0", 0)
    assert [r["preference"] for r in rows] == pytest.approx([3.0 - PREFERENCE_M if a.swap(r["instruction"], 0) else PREFERENCE_M
                                                             for r in records], abs=1e-4)
    with pytest.raises(ValueError, match="tool call"):
        make_judge(JudgeConfig(kind="hf", annotator="alpaca_eval_gpt4_turbo_fn", model=str(judge_model_dir), cache_dir=None))


class FakeOpenAI(BaseHTTPRequestHandler):
    """/v1/chat/completions as OpenAI answers it: a ranking (as text, or as the tool call asked for) that puts
    the longer output first. Every request body is kept for the test to check."""

    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        shown = re.findall(r'"model(?:_identifier)?": "([^"]+)",\s*"(?:answer|output)": """(.*?)"""', body["messages"][-1]["content"], re.S)
        (best, _), (worst, _) = sorted(shown, key=lambda s: -len(s[1]))
        ranking = [{"model": best, "rank": 1}, {"model": worst, "rank": 2}]
        message: dict[str, Any] = {"role": "assistant", "content": repr(ranking)}
        if "tools" in body:
            name = body["tool_choice"]["function"]["name"]
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": name, "arguments": json.dumps({"ordered_models": ranking})}}]}
        reply = json.dumps({"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                            "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                            "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.parametrize("name", each("alpaca_eval_gpt4", "alpaca_eval_gpt4_turbo_fn"))
def test_annotator_requests_and_replies_against_an_openai_style_endpoint(name: str, tmp_path: Path) -> None:
    a = alpaca.load_annotator(name)
    records, outputs = eval_rows(6)
    outputs[2] = "Short."  # the reference is longer here: it wins, whichever side it was shown on
    FakeOpenAI.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = JudgeConfig(kind="api", annotator=name, model=None, base_url=f"http://127.0.0.1:{server.server_port}/v1",
                          max_concurrency=2, cache_dir=None)
        rows = annotate(make_judge(cfg), records, outputs, "M_0", 0)
    finally:
        server.shutdown()
        server.server_close()
    assert [r["preference"] for r in rows] == [1.0 if i == 2 else 2.0 for i in range(6)]
    assert 0 < sum(r["swapped"] for r in rows) < 6
    kw = a.kwargs
    for body in FakeOpenAI.bodies:  # the shipped decoding, sent as it is; judge.model=null asks the annotator's model
        assert body["model"] == kw["model_name"] and body["max_tokens"] == kw["max_tokens"] and body["temperature"] == kw["temperature"]
        assert body.get("tools") == kw.get("tools") and body.get("tool_choice") == kw.get("tool_choice") and "logprobs" not in body
    shown = {body["messages"][-1]["content"] for body in FakeOpenAI.bodies}
    for r in rows:
        pair = (r["output_2"], r["output_1"]) if r["swapped"] else (r["output_1"], r["output_2"])
        assert a.messages(r["instruction"], *pair)[-1]["content"] in shown


# ---- config: names, validation, keys, plan -----------------------------------------------------------------

def test_a_missing_extra_or_unknown_name_fails_at_start_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = compose_config(["judge=api", "judge.annotator=alpaca_eval_gpt4", "judge.base_url=http://127.0.0.1:9/v1"])
    monkeypatch.setattr(alpaca, "configs_dir", lambda: None)
    alpaca._shipped.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"judge.annotator='alpaca_eval_gpt4' needs the alpaca-eval package.*choose one of humpback$"):
            validate_config(cfg, plan=True)
    finally:
        monkeypatch.undo()
        alpaca._shipped.cache_clear()
    if EXTRA:
        cfg.judge.annotator = "alpaca_eval_gpt5"
        with pytest.raises(ConfigError, match=r"judge.annotator='alpaca_eval_gpt5' is no annotator of alpaca-eval .*choose one of humpback, .*"
                                              r"alpaca_eval_gpt4, .*weighted_alpaca_eval_gpt4_turbo"):
            validate_config(cfg, plan=True)
        cfg.judge.annotator = "claude"
        with pytest.raises(ConfigError, match="ships it but humpback cannot follow it .*anthropic_completions"):
            validate_config(cfg, plan=True)
    oracle = compose_config(["judge.annotator=alpaca_eval_gpt4"])
    with pytest.raises(ConfigError, match="judge.annotator='alpaca_eval_gpt4' is for prompted judges"):
        validate_config(oracle, plan=True)


@needs_extra
def test_the_judge_key_follows_the_annotator() -> None:
    ours = JudgeConfig(kind="api", model=None, prompt_format="logprob")
    assert "annotator" not in judge_fingerprint(ours) and judge_fingerprint(ours)["model"] == "gpt-4-turbo"  # keys as before annotators
    ae1, ae2 = (JudgeConfig(kind="api", annotator=n) for n in LEADERBOARD)
    fps = [judge_fingerprint(c) for c in (ours, ae1, ae2)]
    assert len({json.dumps(fp, sort_keys=True) for fp in fps}) == 3
    assert fps[1]["annotator_config"] == alpaca.load_annotator("alpaca_eval_gpt4").digest and fps[1]["model"] == "gpt-4"
    # the explicit model it would ask anyway is the same judge; our own decoding knobs are unused by an annotator
    assert judge_fingerprint(JudgeConfig(kind="api", annotator=LEADERBOARD[0], model="gpt-4", temperature=0.7, top_logprobs=0)) == fps[1]
    assert judge_fingerprint(JudgeConfig(kind="api", annotator=LEADERBOARD[0], model="judge")) != fps[1]


@needs_extra
def test_the_judge_stage_key_changes_with_the_annotator_and_nothing_else(tmp_path: Path) -> None:
    from humpback.pipeline import make_context, run_stages

    def keys(*overrides: str) -> dict[str, str]:
        cfg = compose_config([*TEST_SCALE, f"cache_dir={tmp_path}", "judge=api", "judge.base_url=http://127.0.0.1:9/v1", *overrides])
        ctx = make_context(cfg, tmp_path / "job", plan=True)
        run_stages(ctx)
        return {r.name: r.key for r in ctx.records}

    ours, ae1, ae2 = keys(), keys("judge.annotator=alpaca_eval_gpt4"), keys("judge.annotator=weighted_alpaca_eval_gpt4_turbo")
    judged = {name for name in ours if name.startswith("judge ")}
    assert judged and all(ours[n] != ae1[n] != ae2[n] != ours[n] for n in judged)
    assert all(ours[n] == ae1[n] == ae2[n] for n in ours if n not in judged)


@needs_extra
def test_plan_shows_the_alpaca_eval_annotator_in_use(tmp_path: Path) -> None:
    eval_set = tmp_path / "eval.jsonl"
    eval_set.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}", "generator": "ref"}) + "\n" for i in range(3)))
    r = subprocess.run([sys.executable, "-m", "humpback.cli.main", "eval=alpaca_eval", "judge=api", "judge.annotator=alpaca_eval_gpt4",
                        f"eval.set.path={eval_set}", "plan=true", f"cache_dir={tmp_path / 'cache'}", f"hydra.run.dir={tmp_path / 'run'}"],
                       cwd=REPO, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OPENAI_API_KEY": "sk-unused", "OMP_NUM_THREADS": "1", "HYDRA_FULL_ERROR": "0"})
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(line for line in r.stdout.splitlines() if line.startswith("Judge:"))
    assert line.startswith("Judge: api gpt-4: AlpacaEval annotator alpaca_eval_gpt4 (alpaca-eval ") and "ranking_parser" in line


# ---- (c) our metrics against alpaca_eval.metrics ---------------------------------------------------------

def test_win_rate_metrics_match_alpaca_eval_metrics(alpaca_eval_lib, shared_data: Path) -> None:
    files = sorted((shared_data / "alpaca_eval").glob("annotations_*/*.json"))
    assert len(files) >= 7
    for path in files:
        rows = read_annotations(path)
        ours = win_rate_metrics(rows)
        theirs = alpaca_eval_lib.metrics.get_winrate([{"preference": r.get("preference")} for r in rows])
        for key in ("win_rate", "standard_error", "discrete_win_rate"):
            assert ours[key] == pytest.approx(float(theirs[key]), abs=1e-9), (path.name, key)
        for key in ("n_wins", "n_wins_base", "n_draws", "n_total"):
            assert ours[key] == int(theirs[key]), (path.name, key)
