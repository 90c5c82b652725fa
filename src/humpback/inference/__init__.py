"""Inference engines behind one interface: `format(message)`, `generate(prompts, decode, seed)` and
`next_token_probs(prompts, candidates)`.

`make_engine` returns a handle that builds its engine on first use and stops what it started on
`close()` (a stage uses it as a context manager). Pickled, the handle carries only what builds it, so a
shard worker in another process or on another node (stages.workers) builds its own engine, and with a
server engine starts its own server."""

from __future__ import annotations

import atexit
import weakref
from pathlib import Path
from typing import Any, Optional

from omegaconf import OmegaConf

from humpback.inference.config import SERVER_ENGINES, GenerateConfig
from humpback.models.config import ModelConfig

ENGINES = ("hf", "openai", *SERVER_ENGINES)
_open: "weakref.WeakSet[Engine]" = weakref.WeakSet()  # handles holding a server: stopped at exit at the latest


def make_engine(model_dir: str, model_cfg: ModelConfig, generate_cfg: Any) -> "Engine":
    """Engine for a model folder, per `generate.engine` (built when first used)."""
    if generate_cfg.engine not in ENGINES:
        raise ValueError(f"generate.engine={generate_cfg.engine!r}: choose one of {', '.join(ENGINES)}")
    return Engine(model_dir, model_cfg, generate_cfg)


class Engine:
    def __init__(self, model_dir: str, model_cfg: ModelConfig, generate_cfg: Any):
        self.model_dir = str(Path(model_dir).resolve())
        self.model_cfg = model_cfg
        given = OmegaConf.to_container(generate_cfg, resolve=True) if OmegaConf.is_config(generate_cfg) else generate_cfg
        self.generate_cfg = OmegaConf.merge(OmegaConf.structured(GenerateConfig), given)  # resolved, defaults filled in
        self._impl: Any = None
        self._pool: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_impl": None, "_pool": None}  # the recipe, never a loaded model or a server

    def _engine(self) -> Any:
        if self._impl is None:
            self._impl = self._build()
        return self._impl

    def _build(self) -> Any:
        g = self.generate_cfg
        if g.engine == "hf":
            from humpback.inference.hf_runner import HFRunner

            return HFRunner(self.model_dir, self.model_cfg, batch_size=g.batch_size)
        from humpback.inference.openai_engine import OpenAIEngine

        template, tokenizer = self._template()
        if g.engine == "openai":  # a server that already hosts this model folder, e.g. `humpback-serve --model DIR`
            urls: Any = g.base_url
        else:
            from humpback.inference.servers import ServerPool

            self._pool = ServerPool(g.engine, g.servers[g.engine], self.model_dir, g.data_parallel, g.tensor_parallel,
                                    g.batch_size).start()
            _open.add(self)
            urls = list(self._pool.urls)
        return OpenAIEngine(urls, self.model_dir, g.batch_size, max_concurrency=g.max_concurrency, template=template,
                            tokenizer=tokenizer)

    def _template(self) -> tuple[str, Optional[Any]]:
        """The runner's template rule, read here: a server sees plain text, so the prompt is made on this side."""
        from humpback.inference.hf_runner import template_for

        template = template_for(self.model_dir, self.model_cfg.prompt_template)
        if template != "chat_template":
            return template, None
        from humpback.models.factory import load_tokenizer

        return template, load_tokenizer(self.model_dir, self.model_cfg)

    def format(self, message: str) -> str:
        return self._engine().format(message)

    def generate(self, prompts: list[str], decode: Any, seed: int = 0) -> list[str]:
        return self._engine().generate(prompts, decode, seed)

    def next_token_probs(self, prompts: list[str], candidates: list[str]) -> list[list[float]]:
        return self._engine().next_token_probs(prompts, candidates)

    def close(self) -> None:
        """Stop the servers this handle started; the next call would build the engine again."""
        if self._pool is not None:
            self._pool.stop()
            _open.discard(self)
        self._impl, self._pool = None, None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@atexit.register
def _close_open_engines() -> None:
    for engine in list(_open):
        engine.close()
