"""The end-of-job console summary: per model, training data and win rate ± SE against the reference,
M_t - M_0 as paired differences, and gold-label checks when the summary has them. Every key beyond
`models` is optional, so summaries of older runs print too."""

from __future__ import annotations

from typing import Any, Optional

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def _pct(rate: Optional[float]) -> str:
    return "n/a" if rate is None else f"{100 * rate:.0f}%"


def paired_line(name: str, p: dict[str, Any], vs: Optional[str] = None, what: str = "") -> str:
    """'M_2 − M_0: +3.10 ± 1.20 (2.6 SE, 8 prompts)'; `what` names another metric ('web-only accuracy')."""
    d, se, z = p.get("mean_difference"), p.get("standard_error"), p.get("z")
    head = f"{name} − {vs or p.get('vs')}" + (f" {what}" if what else "")
    if d is None:
        return f"{head}: n/a (no prompts in common)"
    spread = f" ± {se:.2f}" if se is not None else ""
    apart = f"{z:.1f} SE" if z is not None else "z n/a"
    unmatched = f", {p['n_unmatched']} unpaired left out" if p.get("n_unmatched") else ""
    return f"{head}: {d:+.2f}{spread} ({apart}, {p.get('n')} prompts{unmatched})"


def backward_line(g: dict[str, Any]) -> str:
    """'M_yx: instruction asks for its segment's request: 62% of 94 grade-5 candidates (all grades 41% of 277)'."""
    by_grade = g.get("by_grade") or {}
    top = "5" if "5" in by_grade else max(by_grade, key=lambda k: float(k), default=None)
    overall = f"{_pct(g.get('match'))} of {g.get('n')}"
    if top is None:
        return f"M_yx: instruction asks for its segment's request: {overall} candidates"
    best = by_grade[top]
    return (f"M_yx: instruction asks for its segment's request: {_pct(best.get('match'))} of {best.get('n')} "
            f"grade-{top} candidates (all grades {overall})")


def split_accuracy(gold: Optional[dict[str, Any]]) -> str:
    """'70% / 35%': gold accuracy on prompts about seed entities / entities seen only on the web."""
    if not gold:
        return ""
    by_split = gold.get("by_split") or {}
    return " / ".join(_pct((by_split.get(s) or {}).get("accuracy")) for s in ("seed", "web_only"))


def models_table(summary: dict[str, Any]) -> Table:
    models = summary["models"]
    gold = any(m.get("gold") for m in models.values())
    table = Table(title=f"humpback: {summary.get('experiment')}  (judge vs reference outputs)")
    columns = ["model", "train examples", "seed + augmented", "tags at inference", "win rate ± SE", "W / L / D"]
    for col in columns + (["acc seed / web-only"] if gold else []):
        table.add_column(col, justify="right" if col != "model" else "left")
    for name, m in models.items():
        wr = "n/a"
        if m.get("win_rate") is not None:
            se = m.get("standard_error")
            wr = f"{m['win_rate']:.2f}" + (f" ± {se:.2f}" if se is not None else "")
        row = [name, str(m.get("train_examples")), f"{m.get('seed_examples')} + {m.get('augmented_examples')}",
               str(m.get("inference_tags")), wr, f"{m.get('n_wins')} / {m.get('n_wins_base')} / {m.get('n_draws')}"]
        table.add_row(*row, *([split_accuracy(m.get("gold"))] if gold else []))
    return table


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    console.print(models_table(summary))
    for name, p in (summary.get("paired") or {}).items():
        console.print(paired_line(name, p))
    for name, p in (summary.get("paired_accuracy") or {}).items():  # toy world: oracle accuracy, in points
        console.print("; ".join(paired_line(name, d, p.get("vs"), f"accuracy ({label})")
                                for label, d in p.items() if label != "vs"))
    if backward := (summary.get("gold") or {}).get("backward"):
        console.print(backward_line(backward))
    for t, c in summary.get("curation", {}).items():
        kept = ", ".join(f"{n} pairs for {m}" for m, n in c.get("kept", {}).items()) or "none used"
        console.print(f"curation iteration {t} (curator {c['curator']}): {c['pairs']} pairs rated, "
                      f"parse failures {c['parse_failures']}/{c['ratings']} ({100 * c['parse_failure_rate']:.1f}%), "
                      f"kept {kept}; histogram {c['score_histogram']}")
    if "computed_stages" in summary:
        console.print(f"stages: {summary['computed_stages']} computed, {summary.get('cached_stages')} cached; "
                      f"{summary.get('seconds', 0):.1f}s")
    console.print(f"job dir: {summary.get('job_dir')}  (summary.json)")
    console.print(f"W&B: {summary.get('wandb', {}).get('location') or 'disabled'}")
    for warning in summary.get("warnings", []):  # last, where the end of the output shows them
        console.print(f"[bold yellow]warning:[/] {escape(warning)}")
