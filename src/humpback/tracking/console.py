"""The end-of-job console summary: per model, training data and win rate ± SE against the reference."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"humpback: {summary['experiment']}  (judge vs reference outputs)")
    for col in ("model", "train examples", "seed + augmented", "tags at inference", "win rate ± SE", "W / L / D"):
        table.add_column(col, justify="right" if col != "model" else "left")
    for name, m in summary["models"].items():
        wr = f"{m['win_rate']:.2f} ± {m['standard_error']:.2f}" if m.get("win_rate") is not None else "n/a"
        table.add_row(name, str(m.get("train_examples")), f"{m.get('seed_examples')} + {m.get('augmented_examples')}",
                      str(m.get("inference_tags")), wr, f"{m.get('n_wins')} / {m.get('n_wins_base')} / {m.get('n_draws')}")
    console.print(table)
    for t, c in summary.get("curation", {}).items():
        kept = ", ".join(f"{n} pairs for {m}" for m, n in c.get("kept", {}).items()) or "none used"
        console.print(f"curation iteration {t} (curator {c['curator']}): {c['pairs']} pairs rated, "
                      f"parse failures {c['parse_failures']}/{c['ratings']} ({100 * c['parse_failure_rate']:.1f}%), "
                      f"kept {kept}; histogram {c['score_histogram']}")
    cached = summary["cached_stages"]
    console.print(f"stages: {summary['computed_stages']} computed, {cached} cached; {summary['seconds']:.1f}s")
    console.print(f"job dir: {summary['job_dir']}  (summary.json)")
    console.print(f"W&B: {summary.get('wandb', {}).get('location') or 'disabled'}")
