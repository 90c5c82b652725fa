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

    def training_step(self, batch, batch_idx):
        loss = self.model(**batch).loss  # HF shifts labels and skips IGNORE (-100) positions
        self.log("train/loss", loss, prog_bar=True)
        if (batch_idx + 1) % self.trainer.accumulate_grad_batches == 0:
            self.history.append({"step": self.global_step + 1, "loss": float(loss.detach()),
                                 "lr": self.lr_schedulers().get_last_lr()[0]})
        return loss

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
