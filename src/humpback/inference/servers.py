"""Start OpenAI-compatible servers for one model folder, wait until they answer, stop them after.

A stage with a server engine (`generate.engine` in SERVER_ENGINES: humpback-serve, vllm, sglang)
starts `generate.data_parallel` servers from `generate.servers.<engine>`, each on its own
`tensor_parallel` GPUs when the machine has GPUs, and spreads its requests over them. Each server runs
in its own process group, so stopping it also stops the workers it spawned (vLLM's, SGLang's).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Optional

log = logging.getLogger("humpback")
HOST = "127.0.0.1"  # servers a stage starts are its own: loopback only, no key needed


def resolve_executable(name: str) -> Optional[str]:
    """The command's path: as given when it holds a path, else on PATH, else beside this Python (a venv's
    console scripts, even when the venv is not activated)."""
    if os.sep in name:
        path = Path(name).expanduser()
        return str(path) if path.is_file() and os.access(path, os.X_OK) else None
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def missing_command(engine: str, spec: Any) -> Optional[str]:
    """Why `generate.engine=<engine>` cannot start its server here, or None."""
    if resolve_executable(spec.executable) is not None:
        return None
    hint = {"vllm": "install vLLM in its own venv (it pins its own torch) and point to it",
            "sglang": "install SGLang in its own venv and point to that venv's python"}.get(engine, "install it or point to it")
    return (f"generate.engine={engine}: the command {spec.executable!r} is not found (PATH, or beside {sys.executable}); "
            f"{hint}: generate.servers.{engine}.executable=/path/to/{Path(spec.executable).name}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def visible_gpus() -> list[str]:
    """The GPUs this process may hand out (CUDA_VISIBLE_DEVICES, else every device torch sees): the one rule
    for a stage's servers and for local shard workers (stages.workers)."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip()]
    try:
        import torch

        return [str(i) for i in range(torch.cuda.device_count())]
    except Exception:  # no torch CUDA build: no GPUs to hand out
        return []


class ServerPool:
    """`count` servers for `model_dir`, started together, healthy before `urls` is used, stopped by stop()."""

    def __init__(self, engine: str, spec: Any, model_dir: str, count: int = 1, tensor_parallel: int = 1,
                 batch_size: int = 16):
        problem = missing_command(engine, spec)
        if problem:
            raise RuntimeError(problem)
        self.engine, self.spec, self.model_dir = engine, spec, model_dir
        self.count, self.tensor_parallel, self.batch_size = max(1, count), max(1, tensor_parallel), batch_size
        self.procs: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.urls: list[str] = []

    def _gpu_groups(self) -> list[Optional[str]]:
        gpus = visible_gpus()
        if not gpus:
            return [None] * self.count  # CPU: the servers share it
        need = self.count * self.tensor_parallel
        if need > len(gpus):
            raise RuntimeError(f"generate.data_parallel={self.count} x generate.tensor_parallel={self.tensor_parallel} "
                               f"needs {need} GPUs; {len(gpus)} are visible")
        tp = self.tensor_parallel
        return [",".join(gpus[i * tp : (i + 1) * tp]) for i in range(self.count)]

    def start(self) -> "ServerPool":
        exe = resolve_executable(self.spec.executable)
        try:
            for gpus in self._gpu_groups():
                port = free_port()
                fields = {"model": self.model_dir, "host": HOST, "port": port, "batch_size": self.batch_size,
                          "tensor_parallel": self.tensor_parallel}
                argv = [exe, *(str(a).format(**fields) for a in [*self.spec.args, *(self.spec.extra_args or [])])]
                env = {**os.environ, **{str(k): str(v) for k, v in (self.spec.env or {}).items()}}
                if gpus is not None:
                    env["CUDA_VISIBLE_DEVICES"] = gpus
                fd, logfile = tempfile.mkstemp(prefix=f"humpback-{self.engine}-", suffix=".log")
                self.logs.append(Path(logfile))
                with os.fdopen(fd, "wb") as out:
                    self.procs.append(subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                                                       stdin=subprocess.DEVNULL, start_new_session=True))
                self.urls.append(f"http://{HOST}:{port}/v1")
                log.info("%s: starting %s (log %s)", self.engine, " ".join(argv), logfile)
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + float(self.spec.startup_timeout_s)
        waiting = set(range(len(self.procs)))
        while waiting:
            for i in sorted(waiting):
                if self.procs[i].poll() is not None:
                    raise RuntimeError(f"{self.engine} server {i} exited with code {self.procs[i].returncode} before it was "
                                       f"ready; the end of its log ({self.logs[i]}):\n{self._tail(i)}")
                if _healthy(self.urls[i].removesuffix("/v1") + self.spec.health_path):
                    waiting.discard(i)
            if waiting and time.monotonic() > deadline:
                raise RuntimeError(f"{self.engine}: {len(waiting)} server(s) not healthy after {self.spec.startup_timeout_s:g}s "
                                   f"(generate.servers.{self.engine}.startup_timeout_s); log:\n{self._tail(min(waiting))}")
            if waiting:
                time.sleep(0.25)

    def _tail(self, i: int, lines: int = 20) -> str:
        try:
            return "\n".join(self.logs[i].read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=10)
        for i, proc in enumerate(self.procs):
            if proc.returncode in (0, -signal.SIGTERM):  # a clean stop: its log is of no more use
                self.logs[i].unlink(missing_ok=True)
        self.procs, self.urls = [], []


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False
