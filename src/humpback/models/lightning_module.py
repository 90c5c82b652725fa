"""One LightningModule for causal-LM training: pretraining, forward SFT and backward SFT alike."""

from __future__ import annotations

import pytorch_lightning as L
import torch


class CausalLMModule(L.LightningModule):
    def __init__(self, model: torch.nn.Module, lr: float, lr_end: float, weight_decay: float,
                 total_steps: int, warmup_steps: int = 0, betas: tuple[float, float] = (0.9, 0.95)):
        super().__init__()
        self.model = model
        self.lr, self.lr_end, self.weight_decay = lr, lr_end, weight_decay
        self.total_steps, self.warmup_steps, self.betas = max(1, total_steps), warmup_steps, tuple(betas)
        self.history: list[dict[str, float]] = []  # per optimizer step: step, loss, lr
        self._partial_window, self._resumed_grads = False, {}

    def training_step(self, batch, batch_idx):
        loss = self.model(**batch).loss  # HF shifts labels and skips IGNORE (-100) positions
        lr = self.lr_schedulers().get_last_lr()[0]
        # A logger (the job's W&B run) gets these at each optimizer step: the window's last micro-batch, as in the history.
        self.log("train/loss", loss, prog_bar=True)
        self.log("train/lr", lr)
        if (batch_idx + 1) % self.trainer.accumulate_grad_batches == 0:
            self.history.append({"step": self.global_step + 1, "loss": float(loss.detach()), "lr": lr})
        return loss

    # Whether the gradients hold a window not yet stepped (a SIGTERM checkpoint can fall inside one).
    def on_after_backward(self) -> None:
        self._partial_window = True

    def on_before_optimizer_step(self, optimizer) -> None:
        self._partial_window = False

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        # Lightning saves weights, optimizer, scheduler and loop state; exact resume also needs the
        # dropout RNG, the partial gradient of an accumulation window and the history so far. Only rank 0
        # writes, so under data parallelism every rank resumes with rank 0's RNG and no partial gradient
        # (exact single-process only; with dropout 0 and one micro-batch per step, exact on all ranks).
        keep = self._partial_window and self.trainer.world_size == 1
        grads = {n: p.grad for n, p in self.named_parameters() if p.grad is not None} if keep else {}
        # Torch's generators alone draw dropout masks; numpy's state would not pass weights_only loading.
        rng = {"cpu": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}
        checkpoint["humpback"] = {"history": self.history, "rng": rng, "grads": grads}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["humpback"]
        self.history = list(state["history"])
        torch.set_rng_state(state["rng"]["cpu"])
        if state["rng"]["cuda"]:
            torch.cuda.set_rng_state_all(state["rng"]["cuda"])
        self._resumed_grads = state["grads"]  # set on train start: Lightning zeroes gradients before that

    def on_train_start(self) -> None:
        params = dict(self.named_parameters())
        for name, grad in self._resumed_grads.items():
            params[name].grad = grad.to(params[name].device)
        self._partial_window, self._resumed_grads = bool(self._resumed_grads), {}

    def configure_optimizers(self):
        decay, no_decay = [], []
        for name, p in self.model.named_parameters():
            if p.requires_grad:
                (no_decay if p.ndim < 2 else decay).append(p)  # no decay on norms and biases
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": self.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=self.lr, betas=self.betas,
        )
        ratio = self.lr_end / self.lr

        def factor(step: int) -> float:  # linear warmup, then linear decay from lr to lr_end
            if step < self.warmup_steps:
                return (step + 1) / self.warmup_steps
            frac = min(1.0, (step - self.warmup_steps) / max(1, self.total_steps - self.warmup_steps))
            return 1.0 + (ratio - 1.0) * frac

        sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
