"""The files each stage writes into its artifact folder: one name per file, for the stage that writes it
and every reader (later stages, the summary, the tracker). These are the names on disk of every cache
already built: renaming one orphans them. The toy world's own files: `humpback.data.toyworld.world.FILES`."""

SEED = "seed.jsonl"  # seed: the seed pairs (and the toy world's rating examples)
EVAL = "eval.jsonl"  # eval_set: the eval prompts, with reference outputs
SEGMENTS = "segments.jsonl"  # segments: the web segments
SEGMENT_REPORT = "report.json"  # segments: what was read, kept and left out
CANDIDATES = "candidates.jsonl"  # augment: the candidate pairs A
EMPTY_INSTRUCTIONS = "empty_instructions.jsonl"  # augment: pairs left out for a too-short instruction
SCORES = "scores.jsonl"  # curate, oracle_scores: one score per candidate
MODEL = "model"  # pretrain, finetune: the saved model folder
TRAIN = "train.jsonl"  # finetune: the examples it trained on
SELECTED = "selected.jsonl"  # finetune of a student M_t: the augmented pairs its selection kept
OUTPUTS = "outputs.jsonl"  # generate: one answer per eval prompt
ANNOTATIONS = "annotations.json"  # judge: AlpacaEval-style annotations
