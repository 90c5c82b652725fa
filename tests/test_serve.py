"""humpback-serve: the OpenAI-compatible protocol over a tiny local model, fault injection, the CLI, and
the openai engine. Everything talks over loopback only; every server stops at the end of its test."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import openai
import pytest
from omegaconf import OmegaConf

from humpback.inference import make_engine
from humpback.inference.config import DecodeConfig
from humpback.inference.openai_engine import OpenAIEngine
from humpback.models.config import ModelConfig
from humpback.serve import FaultConfig, FaultInjector, HumpbackServer, parse_faults, serve_in_thread
from humpback.serve.faults import faults_from_env
from tests.judge_model import LOGIT_M, LOGIT_m, PREFERENCE_M, expected_logprobs  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
def client(url: str, key: str = "unused", timeout: float = 10.0) -> openai.OpenAI:
    return openai.OpenAI(api_key=key, base_url=url, max_retries=0, timeout=timeout)


def test_fault_specs_parse_from_flags_and_env() -> None:
    assert parse_faults("fail_500=2, fail_429=1,slow=1,slow_s=2.5") == FaultConfig(fail_500=2, fail_429=1, slow=1, slow_s=2.5)
    assert faults_from_env({"HUMPBACK_SERVE_FAULTS": "fail_every=3"}) == FaultConfig(fail_every=3)
    assert faults_from_env({}) == FaultConfig()
    for bad in ("fail_501=1", "fail_500", "slow_s=soon", "fail_429=-1"):
        with pytest.raises(ValueError, match="bad fault"):
            parse_faults(bad)


def test_faults_come_in_documented_order() -> None:
    inj = FaultInjector(FaultConfig(fail_500=1, fail_429=2, slow=1, slow_s=0.5, fail_every=3, retry_after_s=0.25))
    seen = []
    for _ in range(10):
        f = inj.next_fault()
        seen.append(f.status or ("slow" if f.delay_s else None))
    assert seen == [500, 429, 429, "slow", None, None, 500, None, None, 500]
    assert inj.injected == {"500": 3, "429": 2, "slow": 1, "garbage": 0, "truncated": 0, "no_choices": 0, "empty": 0}
    inj = FaultInjector(FaultConfig(fail_429=1, retry_after_s=0.25))
    assert inj.next_fault().headers == {"Retry-After": "0.25"}
    inj = FaultInjector(parse_faults("slow=1,slow_s=2,garbage=1,truncated=1,no_choices=1,empty=1,fail_every=2"))
    assert [f.body or f.status or f.delay_s for f in (inj.next_fault() for _ in range(7))] == [2.0, "garbage", "truncated", "no_choices",
                                                                                          "empty", 0.0, 500]


def test_a_fault_rate_draws_a_seeded_mix() -> None:
    def sequence(seed: int) -> list:
        inj = FaultInjector(FaultConfig(rate=0.3, seed=seed, slow_s=1.0))
        return [(f.status, f.delay_s, f.body) for f in (inj.next_fault() for _ in range(1000))], inj.injected

    (seq, injected), (again, _) = sequence(0), sequence(0)
    assert seq == again and seq != sequence(1)[0]  # the seed alone decides which request meets which fault
    assert 250 <= sum(injected.values()) <= 350 and all(count > 10 for count in injected.values())  # every kind, slow included
    assert "slow" not in {k for k, v in FaultInjector(FaultConfig(rate=1.0)).injected.items() if v}
    with pytest.raises(ValueError, match="<= 1"):
        parse_faults("rate=1.5")


def test_body_faults_break_a_real_reply() -> None:
    from humpback.serve.faults import malformed_body

    payload = {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": "M"}, "logprobs": {"content": []}}]}
    with pytest.raises(ValueError):
        json.loads(malformed_body("garbage", payload))
    truncated = malformed_body("truncated", payload)
    assert json.dumps(payload).encode().startswith(truncated) and len(truncated) < len(json.dumps(payload))
    assert json.loads(malformed_body("no_choices", payload)) == {"id": "x"}
    assert json.loads(malformed_body("empty", payload))["choices"] == [{"index": 0, "message": {"role": "assistant", "content": ""},
                                                                       "logprobs": None}]
    assert json.loads(malformed_body("empty", {"choices": [{"text": "MM", "logprobs": {}}]}))["choices"] == [{"text": "", "logprobs": None}]


def test_chat_completion_reports_first_token_logprobs(backend) -> None:
    lp_m, lp_M = expected_logprobs(len(backend.tok))
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        assert server.url.startswith("http://127.0.0.1:")
        resp = client(server.url).chat.completions.create(
            model="judge", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "m or M?"}],
            max_tokens=3, temperature=0, logprobs=True, top_logprobs=3)
    choice = resp.choices[0]
    assert choice.message.content == "MMM" and choice.finish_reason == "length"
    first = choice.logprobs.content[0]
    assert first.token == "M" and first.logprob == pytest.approx(lp_M, abs=1e-4)
    assert [(t.token, round(t.logprob, 4)) for t in first.top_logprobs[:2]] == [("M", round(lp_M, 4)), ("m", round(lp_m, 4))]
    assert len(first.top_logprobs) == 3
    prompt = backend.render_chat([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "m or M?"}])
    assert prompt == "[INST] Be brief.\n\nm or M? [/INST]"  # the model card's template
    assert resp.usage.prompt_tokens == backend.count_tokens(prompt) + 1  # + BOS
    assert resp.usage.completion_tokens == 3 and resp.model == "judge"


def test_completions_batch_stop_and_model_path_alias(backend, judge_model_dir: Path) -> None:
    lp_m, lp_M = expected_logprobs(len(backend.tok))
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        c = client(server.url)
        resp = c.completions.create(model=str(judge_model_dir), prompt=["short", "a longer prompt"], max_tokens=2, temperature=0, logprobs=2)
        stopped = c.completions.create(model="judge", prompt="x", max_tokens=4, temperature=0, stop=["MM"])
        listed = c.models.list()
    assert [ch.text for ch in sorted(resp.choices, key=lambda ch: ch.index)] == ["MM", "MM"]
    top = resp.choices[0].logprobs.top_logprobs[0]
    assert set(top) == {"M", "m"} and top["m"] == pytest.approx(lp_m, abs=1e-4) and top["M"] == pytest.approx(lp_M, abs=1e-4)
    assert resp.choices[0].logprobs.tokens == ["M", "M"] and resp.choices[0].logprobs.text_offset == [0, 1]
    assert resp.usage.completion_tokens == 4
    assert stopped.choices[0].text == "" and stopped.choices[0].finish_reason == "stop"
    assert [m.id for m in listed.data] == ["judge"]


def _post(url: str, payload: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, data=payload, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_bad_requests_get_openai_style_errors(backend) -> None:
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        base = server.url
        ok = json.dumps({"model": "judge", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}).encode()
        cases = {
            "bad json": _post(f"{base}/chat/completions", b"{not json"),
            "unknown model": _post(f"{base}/chat/completions", ok.replace(b'"judge"', b'"gpt-9"')),
            "stream": _post(f"{base}/chat/completions", ok[:-1] + b', "stream": true}'),
            "no messages": _post(f"{base}/chat/completions", b'{"model": "judge", "messages": []}'),
            "too many logprobs": _post(f"{base}/completions", b'{"model": "judge", "prompt": "x", "logprobs": 99}'),
            "token prompt": _post(f"{base}/completions", b'{"model": "judge", "prompt": [1, 2]}'),
            "no route": _post(f"{base}/embeddings", ok),
        }
    statuses = {name: status for name, (status, _) in cases.items()}
    assert statuses == {"bad json": 400, "unknown model": 404, "stream": 400, "no messages": 400, "too many logprobs": 400,
                        "token prompt": 400, "no route": 404}
    body = cases["unknown model"][1]["error"]
    assert body["type"] == "invalid_request_error" and body["param"] == "model" and "gpt-9" in body["message"]


def test_oversized_bodies_and_wrong_methods_get_openai_style_errors(backend) -> None:
    import socket

    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        host, port = server.server_address
        assert port != 0 and server.url == f"http://{host}:{port}/v1"  # port 0 reports the port it got
        with socket.create_connection((host, port), timeout=10) as conn:  # declares 1 GiB, sends nothing
            conn.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n")
            reply = b""
            while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
                chunk = conn.recv(65536)
                if not chunk:
                    break
                reply += chunk
        head, _, body = reply.partition(b"\r\n\r\n")
        try:
            urllib.request.urlopen(f"{server.url}/completions", timeout=10)  # GET on a POST route
        except urllib.error.HTTPError as e:
            wrong_method = (e.code, json.loads(e.read()))
    assert head.startswith(b"HTTP/1.1 413") and json.loads(body)["error"]["code"] == 413
    assert wrong_method[0] == 404 and wrong_method[1]["error"]["type"] == "invalid_request_error"


def test_api_key_is_checked_when_configured(backend) -> None:
    with serve_in_thread(HumpbackServer({"judge": backend}, api_key="sk-loopback-test")) as server:
        with pytest.raises(openai.AuthenticationError):
            client(server.url, key="wrong").models.list()
        assert [m.id for m in client(server.url, key="sk-loopback-test").models.list().data] == ["judge"]
        with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=10) as r:  # no key needed
            assert json.loads(r.read()) == {"status": "ok"}
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.url.removesuffix("/v1") + "/humpback/stats", timeout=10)
        assert err.value.code == 401 and json.loads(err.value.read())["error"]["type"] == "authentication_error"
        status, body = _post(f"{server.url}/completions", b'{"model": "judge", "prompt": "x"}', {"Authorization": "Bearer wrong"})
        assert status == 401 and body["error"]["code"] == 401


def test_injected_faults_reach_the_client(backend) -> None:
    faults = FaultInjector(FaultConfig(fail_500=1, fail_429=1, slow=1, slow_s=1.0, retry_after_s=0.5))
    msg = [{"role": "user", "content": "hi"}]
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        c = client(server.url, timeout=0.3)
        with pytest.raises(openai.InternalServerError):
            c.chat.completions.create(model="judge", messages=msg, max_tokens=1)
        with pytest.raises(openai.RateLimitError) as err:
            c.chat.completions.create(model="judge", messages=msg, max_tokens=1)
        assert err.value.response.headers["retry-after"] == "0.5"
        with pytest.raises(openai.APITimeoutError):
            c.chat.completions.create(model="judge", messages=msg, max_tokens=1)
        patient = c.with_options(timeout=30)  # a genuine reply on a loaded machine may take longer than 0.3 s
        assert patient.chat.completions.create(model="judge", messages=msg, max_tokens=1, temperature=0).choices[0].message.content == "M"
        assert {k: v for k, v in server.stats()["injected"].items() if v} == {"500": 1, "429": 1, "slow": 1}
    # the sleeping handler was woken by the shutdown, not left behind
    assert server.stopping.is_set()


def test_broken_bodies_reach_the_client_as_200s(backend) -> None:
    faults = FaultInjector(FaultConfig(garbage=1, truncated=1, no_choices=1, empty=1))
    ok = json.dumps({"model": "judge", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 1, "temperature": 0}).encode()
    with serve_in_thread(HumpbackServer({"judge": backend}, faults=faults)) as server:
        bodies = []
        for _ in range(5):
            with urllib.request.urlopen(urllib.request.Request(f"{server.url}/chat/completions", data=ok), timeout=10) as r:
                assert r.status == 200
                bodies.append(r.read())
        stats = server.stats()
    good = json.loads(bodies[4])
    assert good["choices"][0]["message"]["content"] == "M"
    with pytest.raises(ValueError):
        json.loads(bodies[0])
    assert bodies[1].startswith(b'{"id": "chatcmpl-') and b'"model": "judge"' in bodies[1] and not bodies[1].endswith(b"}")  # cut off
    assert "choices" not in json.loads(bodies[2]) and json.loads(bodies[3])["choices"][0]["message"]["content"] == ""
    assert stats["completions"] == 1 and stats["injected"] == {**dict.fromkeys(stats["injected"], 0), "garbage": 1, "truncated": 1,
                                                                 "no_choices": 1, "empty": 1}


def test_openai_engine_generates_and_scores_through_the_server(backend, judge_model_dir: Path) -> None:
    with serve_in_thread(HumpbackServer({"judge": backend})) as server:
        gen = OmegaConf.create({"engine": "openai", "base_url": server.url, "batch_size": 2})
        engine = make_engine(str(judge_model_dir), ModelConfig(), gen)  # addressed by its folder path
        assert isinstance(engine._engine(), OpenAIEngine)  # built on first use
        texts = engine.generate(["a", "bb", "ccc"], DecodeConfig(temperature=0.0, max_new_tokens=2))
        probs = engine.next_token_probs(["a", "bb", "ccc"], ["m", "M", "zzz"])
        sampled = engine.generate(["a"], DecodeConfig(temperature=1.0, top_p=0.9, max_new_tokens=3), seed=5)
        again = engine.generate(["a"], DecodeConfig(temperature=1.0, top_p=0.9, max_new_tokens=3), seed=5)
    assert texts == ["MM", "MM", "MM"]
    for p_m, p_M, p_z in probs:  # renormalised over the candidates; "zzz" is not among the top tokens
        assert (p_m, p_M, p_z) == (pytest.approx(0.25, abs=1e-4), pytest.approx(0.75, abs=1e-4), 0.0)
    assert sampled == again  # the seed decides the sample


def test_cli_prints_its_url_and_serves_until_terminated(judge_model_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), "HUMPBACK_SERVE_FAULTS": ""}
    proc = subprocess.Popen([sys.executable, "-m", "humpback.cli.serve", "--model", str(judge_model_dir), "--name", "tiny", "--port", "0",
                             "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()  # bounded: the process exits (EOF) if it fails to start
        assert line.startswith("humpback-serve: serving tiny at http://127.0.0.1:"), proc.stderr.read() if not line else line
        url = line.split(" at ")[1].strip()
        deadline = time.monotonic() + 20
        while True:
            try:
                assert [m.id for m in client(url).models.list().data] == ["tiny"]
                break
            except openai.APIConnectionError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert proc.returncode == 0
    proc.stdout.close()
    proc.stderr.close()


def test_cli_rejects_bad_arguments(tmp_path: Path) -> None:
    from humpback.cli.serve import main

    assert main(["--model", str(tmp_path / "missing"), "--port", "0"]) == 2
    assert main(["--model", str(tmp_path), "--faults", "explode=1"]) == 2
    assert main(["--model", str(tmp_path), "--api-key-env", "HUMPBACK_TEST_UNSET_VARIABLE"]) == 2


def test_no_key_beyond_loopback_unless_insecure(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from humpback.cli.serve import main
    from humpback.serve.app import check_bind

    missing = str(tmp_path / "missing")
    for host in ("0.0.0.0", "", "192.168.1.7", "::", "example.org"):
        assert main(["--model", missing, "--host", host, "--port", "0"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "refusing to listen" in err and "--insecure" in err, err  # refused before the models load
        with pytest.raises(ValueError, match="without an API key"):
            HumpbackServer({"judge": object()}, host=host)
    for host in ("127.0.0.1", "127.0.0.2", "localhost", "::1"):
        check_bind(host, None)
    monkeypatch.setenv("HUMPBACK_TEST_SERVE_KEY", "sk-serve-test-key")
    for extra in (["--insecure"], ["--api-key-env", "HUMPBACK_TEST_SERVE_KEY"]):
        assert main(["--model", missing, "--host", "0.0.0.0", "--port", "0", *extra]) == 2
        err = capsys.readouterr().err
        assert "not a folder" in err and "refusing" not in err and "sk-serve-test-key" not in err
