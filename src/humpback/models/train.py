"""Training recipes, each readable as one story: set up, fit with Lightning, save."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytorch_lightning as L
import torch
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.exceptions import SIGTERMException
from torch.utils.data import DataLoader

from humpback.data.records import write_json, write_jsonl
from humpback.models import factory
from humpback.models.config import ModelConfig, PretrainConfig, TrainConfig
from humpback.models.lightning_module import CausalLMModule
from humpback.models.sft_data import LengthGroupedBatches, collate, encode_example, pack_documents
from humpback.models.templates import format_prompt
from humpback.models.tokenizer import train_bpe_tokenizer

log = logging.getLogger(__name__)


def _precision(name: str) -> str:
    if name != "auto":
        return name
    return "bf16-mixed" if torch.cuda.is_available() else "32-true"


class _ResumableLoader(DataLoader):
    """A loader Lightning can checkpoint mid-epoch: it saves and restores `state_dict` of stateful loaders."""

    def state_dict(self) -> dict[str, int]:
        return self.batch_sampler.state_dict()

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.batch_sampler.load_state_dict(state)


class _Batches(L.LightningDataModule):
    """Builds the loader once the trainer knows this process's rank (data parallelism shards batches)."""

    def __init__(self, encoded: list[dict], micro: int, pad_id: int, seed: int):
        super().__init__()
        self.encoded, self.micro, self.pad_id, self.seed = encoded, micro, pad_id, seed

    def train_dataloader(self) -> DataLoader:
        rank, world = self.trainer.global_rank, self.trainer.world_size
        sampler = LengthGroupedBatches([len(x["input_ids"]) for x in self.encoded], self.micro, self.seed, rank, world)
        # Own generator: the loader draws a seed per pass, which would otherwise come from (and shift) the
        # global RNG that dropout uses, so a resumed run would see other dropout masks.
        return _ResumableLoader(self.encoded, batch_sampler=sampler, collate_fn=lambda b: collate(b, self.pad_id),
                                generator=torch.Generator().manual_seed(self.seed))


def _world_size(cfg: TrainConfig) -> int:
    return cfg.devices * cfg.num_nodes


def checkpoint_dir(out: Path) -> Path:
    """Where training toward `out` keeps its checkpoints: beside it, in the stage's work folder, which a
    rerun of the same key reuses; removed once `out` is saved."""
    return out.parent / f"{out.name}.checkpoints"


class _SaveOnSigterm(L.Callback):
    """After a SIGTERM (preemption; SLURM sends one before it kills a job) Lightning finishes the batch and
    raises SIGTERMException: a clean point to save. Other exceptions can strike mid-batch: they leave the
    last periodic checkpoint to resume from. So does a SIGTERM after an epoch's last batch: Lightning 2.6
    resumes that state at batch_idx = epoch length of the next epoch (measured; the weights drift).
    Single-process only: under DDP each rank raises at its own point, and the save's collectives then
    met a gradient all-reduce and hung (measured, Lightning 2.6, gloo).
    Not OnExceptionCheckpoint: with one, Lightning warns on every fit that has nothing to resume."""

    def __init__(self, path: Path):
        self.path = path

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if (isinstance(exception, SIGTERMException) and trainer.world_size == 1
                and not trainer.fit_loop.epoch_loop.batch_progress.is_last_batch):
            trainer.save_checkpoint(self.path)


def _fit(module: CausalLMModule, data: _Batches, steps: int, accumulate: int, cfg: TrainConfig, checkpoints: Path,
         logger: Logger | None = None) -> L.Trainer:
    """Fit, resuming from the newest checkpoint in `checkpoints` (periodic, SIGTERM, or SLURM's requeue one).
    `logger` gets the module's logged metrics at every optimizer step (the job's W&B run, live)."""
    for name in ("pytorch_lightning", "lightning_fabric"):  # Lightning resets these on import
        logging.getLogger(name).setLevel(logging.WARNING)
    callbacks: list[L.Callback] = [_SaveOnSigterm(checkpoints / "sigterm.ckpt")]
    periodic = cfg.checkpoint_every_n_steps > 0
    if periodic:  # one file, overwritten (save_last would add a save at the end of training)
        callbacks.append(ModelCheckpoint(checkpoints, "last", save_top_k=1, every_n_train_steps=cfg.checkpoint_every_n_steps,
                                         enable_version_counter=False))
    trainer = L.Trainer(
        max_steps=steps,
        max_epochs=-1,
        accumulate_grad_batches=accumulate,
        accelerator=cfg.accelerator,
        devices=cfg.devices,
        num_nodes=cfg.num_nodes,
        strategy=cfg.strategy,
        use_distributed_sampler=False,  # _Batches shards by rank itself
        precision=_precision(cfg.precision),
        gradient_clip_val=1.0,
        logger=logger if logger is not None else False,
        callbacks=callbacks,
        enable_checkpointing=periodic,  # else Lightning adds its own ModelCheckpoint
        default_root_dir=checkpoints,  # where SLURM auto-requeue (SIGUSR1) saves hpc_ckpt_N.ckpt
        enable_model_summary=False,
        enable_progress_bar=cfg.progress_bar,
        log_every_n_steps=1,
    )
    resume = max(checkpoints.glob("*.ckpt"), key=lambda p: p.stat().st_mtime, default=None)
    if resume is not None:
        log.info("resuming training from %s", resume)
    try:
        trainer.fit(module, datamodule=data, ckpt_path=resume)
    except SIGTERMException as e:  # a SystemExit without a code: the process would exit 0, as if done
        raise SystemExit(128 + signal.SIGTERM) from e
    return trainer


def pretrain_scratch(texts: list[str], model_cfg: ModelConfig, cfg: PretrainConfig, train_cfg: TrainConfig, out: Path,
                     tokenizer_extra: list[str] = (), logger: Logger | None = None) -> dict[str, Any]:
    """Learn a BPE tokenizer and pretrain a scratch Llama on the corpus (the stand-in for LLaMA)."""
    start = time.time()
    L.seed_everything(train_cfg.seed, verbose=False)
    tok_texts = texts if model_cfg.scratch.tokenizer_max_docs is None else texts[: model_cfg.scratch.tokenizer_max_docs]
    tokenizer = train_bpe_tokenizer([*tok_texts, *tokenizer_extra], model_cfg.scratch.vocab_size)
    model = factory.scratch_model(model_cfg, tokenizer)
    blocks = pack_documents(tokenizer, texts, cfg.block_size)
    if not blocks:
        raise ValueError(f"pretraining corpus too small: fewer tokens than one block of {cfg.block_size}")
    module = CausalLMModule(model, cfg.lr, cfg.lr_end, cfg.weight_decay, cfg.steps, cfg.warmup_steps, train_cfg.betas)
    single = dataclasses.replace(train_cfg, devices=1, num_nodes=1)  # scratch models are small: one device
    data = _Batches(blocks, cfg.batch_size, tokenizer.pad_token_id, train_cfg.seed)
    _fit(module, data, cfg.steps, 1, single, checkpoint_dir(out), logger)
    factory.save_model(module.model, tokenizer, out, base="", cfg=model_cfg)
    shutil.rmtree(checkpoint_dir(out), ignore_errors=True)
    return {"blocks": len(blocks), "tokens": len(blocks) * cfg.block_size, "steps": cfg.steps,
            "parameters": sum(p.numel() for p in model.parameters()), "history": module.history,
            "final_loss": module.history[-1]["loss"] if module.history else None, "seconds": round(time.time() - start, 2)}


def batch_and_steps(n: int, cfg: TrainConfig) -> tuple[int, int]:
    """Batch and steps for n examples: fixed `steps`, else the Table 18 `schedule`, else the paper's batch
    rule (8 below 3,000 examples, else 32) with `epochs` passes."""
    batch = cfg.small_data_batch_size if n < cfg.small_data_threshold else cfg.batch_size
    if cfg.steps is not None:
        return batch, cfg.steps
    if cfg.schedule:
        sizes = sorted(int(k) for k in cfg.schedule)
        size = next((s for s in sizes if s >= n), sizes[-1])
        batch, steps = cfg.schedule[str(size)]
        return int(batch), int(steps)
    return batch, max(1, math.ceil(cfg.epochs * n / batch))


def finetune(base: str, examples: list[dict[str, str]], model_cfg: ModelConfig, cfg: TrainConfig, out: Path,
             logger: Logger | None = None) -> dict[str, Any]:
    """SFT of `base` on {user, target} examples (user = the user message, formatted here with the model's
    prompt template), loss on target tokens only; saves to `out`. `logger`: see `_fit`; a multi-process
    fine-tune runs in a child that cannot log to this process's run, so it goes without (the caller has
    the history)."""
    if not examples:
        raise ValueError("no training examples: check the selection (threshold, size) and the seed set")
    if _world_size(cfg) > 1 and not os.environ.get(CHILD_ENV):
        return _finetune_in_child(base, examples, model_cfg, cfg, out)
    start = time.time()
    L.seed_everything(cfg.seed, verbose=False)
    tokenizer = factory.load_tokenizer(base, model_cfg)
    encoded = [encode_example(tokenizer, format_prompt(e["user"], model_cfg.prompt_template, tokenizer), e["target"], cfg.max_seq_len)
               for e in examples]
    batch, steps = batch_and_steps(len(encoded), cfg)
    micro = min(cfg.micro_batch_size, batch)
    accumulate = max(1, math.ceil(batch / (micro * _world_size(cfg))))  # the batch spans all ranks
    model = factory.load_for_training(base, model_cfg, cfg.dropout).train()  # from_pretrained returns eval mode
    module = CausalLMModule(model, cfg.lr, cfg.lr_end, cfg.weight_decay, steps, cfg.warmup_steps, cfg.betas)
    log.info("fine-tuning %s on %d examples: batch %d (micro %d x %d), %d steps", base, len(encoded), batch, micro, accumulate, steps)
    trainer = _fit(module, _Batches(encoded, micro, tokenizer.pad_token_id, cfg.seed), steps, accumulate, cfg, checkpoint_dir(out), logger)
    n_target = sum(sum(1 for t in e["labels"] if t != -100) for e in encoded)
    metrics = {"examples": len(encoded), "batch_size": batch, "steps": steps, "target_tokens": n_target,
               "world_size": trainer.world_size, "history": module.history,
               "final_loss": module.history[-1]["loss"] if module.history else None, "seconds": round(time.time() - start, 2)}
    if trainer.is_global_zero:
        factory.save_model(module.model, tokenizer, out, base=base, cfg=model_cfg)
        write_json(out / "train_metrics.json", metrics)
        shutil.rmtree(checkpoint_dir(out), ignore_errors=True)
    return metrics


CHILD_ENV = "HUMPBACK_TRAIN_CHILD"


def _finetune_in_child(base: str, examples: list[dict[str, str]], model_cfg: ModelConfig, cfg: TrainConfig, out: Path) -> dict[str, Any]:
    """Multi-process training runs as its own command, because Lightning starts ranks 1..n by re-running
    the command of rank 0: that must be this fine-tune, not the whole pipeline."""
    job = out.parent / f"{out.name}.job"
    write_json(job / "job.json", {"base": base, "model": dataclasses.asdict(model_cfg), "train": dataclasses.asdict(cfg), "out": str(out)})
    write_jsonl(job / "examples.jsonl", examples)
    env = {**os.environ, CHILD_ENV: "1"}
    subprocess.run([sys.executable, "-m", "humpback.models.train_job", str(job)], env=env, check=True)
    return json.loads((out / "train_metrics.json").read_text())
