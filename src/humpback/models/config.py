"""Model and training configs (structured: a typo or a wrong type fails at start)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional


@dataclass
class ScratchModelConfig:
    """A Llama-architecture model trained from scratch with a locally trained BPE tokenizer."""

    vocab_size: int = 2048  # BPE vocabulary learned from the corpus + seed + prompts
    hidden_size: int = 128
    intermediate_size: int = 384
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 4
    max_position_embeddings: int = 1024
    tokenizer_max_docs: Optional[int] = None  # cap on documents used to learn the tokenizer (None = all)


@dataclass
class LoraConfig:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"])


@dataclass
class ModelConfig:
    source: str = "scratch"  # scratch | local (HF folder on disk) | hub (id; needs network)
    path: Optional[str] = None  # folder or hub id for local/hub
    name: str = "scratch-tiny"  # label used in W&B and the summary (model_size axis)
    scratch: ScratchModelConfig = field(default_factory=ScratchModelConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    dtype: str = "auto"  # auto (bf16 on GPU, fp32 on CPU) | float32 | bfloat16 | float16
    prompt_template: str = "inst"  # inst: "[INST] {instruction} [/INST]" (published Humpback format) | chat_template
    trust_remote_code: bool = False  # never on unless asked
    revision: Optional[str] = None


@dataclass
class PretrainConfig:
    """Causal-LM pretraining of scratch models on the corpus (skipped for local/hub models)."""

    steps: int = 600
    batch_size: int = 16
    block_size: int = 256  # tokens per packed training block
    lr: float = 3e-3
    lr_end: float = 3e-4
    weight_decay: float = 0.1
    warmup_steps: int = 20


@dataclass
class TrainConfig:
    """Supervised fine-tuning (SFT). Defaults are the paper's (SPEC.md section 2)."""

    lr: float = 1e-5  # paper: 1e-5 decaying linearly ...
    lr_end: float = 9e-6  # ... to 9e-6 at the end of training
    weight_decay: float = 0.1
    dropout: float = 0.1  # applied to every dropout field the model config has (Llama: attention_dropout)
    batch_size: int = 32  # paper: 32 examples ...
    small_data_batch_size: int = 8  # ... and 8 below `small_data_threshold` examples
    small_data_threshold: int = 3000
    micro_batch_size: int = 8  # per forward pass; gradient accumulation makes up the batch
    steps: Optional[int] = None  # fixed optimizer steps for every fine-tune; None -> `schedule`, then epochs
    # Batch and steps by training-set size, as the paper's Table 18: {"100": [8, 30], "3200": [32, 500], ...};
    # a set of n examples uses the smallest size >= n (the largest when n exceeds them all). Empty: off.
    schedule: dict[str, list[int]] = field(default_factory=dict)
    epochs: float = 3.0  # used when steps is None (paper: unreported)
    warmup_steps: int = 0  # unreported in the paper
    betas: list[float] = field(default_factory=lambda: [0.9, 0.95])  # AdamW; optimizer unreported (LLaMA's)
    max_seq_len: int = 1024  # unreported; longer examples are truncated from the end of the output
    precision: str = "auto"  # auto: bf16-mixed on GPU, 32-true on CPU; or any Lightning precision
    accelerator: str = "auto"
    devices: int = 1  # per node; >1 (or num_nodes>1) runs each fine-tune as its own multi-process job
    num_nodes: int = 1
    strategy: str = "auto"  # ddp | fsdp | deepspeed_stage_2 ... for multi-GPU
    seed: int = 0  # init, data order, dropout; a job sets it from the top-level `seed` (config/schema.py)
    progress_bar: bool = False
    # Lightning checkpoint every N optimizer steps in the stage's work folder, so a killed fine-tune or
    # pretraining resumes there (0: only on SIGTERM). Operational: leaves the weights as they are.
    checkpoint_every_n_steps: int = 100


# TrainConfig fields that change how a run is carried out but not its result: kept out of stage keys.
OPERATIONAL_TRAIN_FIELDS = ("checkpoint_every_n_steps", "progress_bar")
