"""The paper's figures as PNG (matplotlib, Agg: no display needed). A missing point is drawn as the
word "missing" where its bar or marker would be, never as a value."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

Point = Optional[tuple[float, Optional[float]]]  # (win rate, standard error) or None when missing
WIN_LABEL = "win rate vs reference (%)"


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")  # long effect labels must not clip the title
    plt.close(fig)
    return path


def _hline(ax, hline: Optional[tuple[str, float, Optional[float]]]) -> None:
    if hline is not None:
        label, value, se = hline
        ax.axhline(value, color="grey", linestyle="--", linewidth=1, label=label)
        if se:
            ax.axhspan(value - se, value + se, color="grey", alpha=0.12)


def bar_groups(path: Path, title: str, groups: list[str], series: dict[str, list[Point]], xlabel: str,
               hline: Optional[tuple[str, float, Optional[float]]] = None,
               labels: Optional[dict[str, list[Optional[str]]]] = None) -> Path:
    """One group of bars per x value (e.g. per N), one bar per series, standard errors as error bars;
    `labels` writes a short note over a bar (e.g. how many examples it really used)."""
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(groups) + 2), 4.2))
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    tops = [p[0] + (p[1] or 0) for pts in series.values() for p in pts if p is not None]
    top = max(tops + [hline[1] + (hline[2] or 0) if hline else 0.0, 1.0])
    for i, (label, points) in enumerate(series.items()):
        pos = x - 0.4 + width * (i + 0.5)
        have = [(p, v) for p, v in zip(pos, points) if v is not None]
        if have:
            ax.bar([p for p, _ in have], [v[0] for _, v in have], width, label=label,
                   yerr=[v[1] or 0 for _, v in have], capsize=3, color=f"C{i}", edgecolor="black", linewidth=0.5)
        for p, v, note in zip(pos, points, (labels or {}).get(label) or [None] * len(points)):
            if v is None:
                ax.text(p, top * 0.02, "missing", rotation=90, ha="center", va="bottom", fontsize=8, color=f"C{i}")
            elif note:
                ax.text(p, v[0] + (v[1] or 0) + top * 0.01, note, ha="center", va="bottom", fontsize=7)
    _hline(ax, hline)
    ax.set_xticks(x, groups)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(WIN_LABEL)
    ax.set_ylim(0, top * 1.15)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def curves(path: Path, title: str, series: dict[str, list[tuple[float, Point]]], xlabel: str, log_x: bool = True,
           fits: Optional[dict[str, tuple[float, float]]] = None,
           hline: Optional[tuple[str, float, Optional[float]]] = None) -> Path:
    """Win rate against a numeric x per series, with error bars; `fits` draws alpha ln x + C per series."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, (label, points) in enumerate(series.items()):
        have = [(x, p) for x, p in points if p is not None]
        if have:
            ax.errorbar([x for x, _ in have], [p[0] for _, p in have], yerr=[p[1] or 0 for _, p in have],
                        marker="o", capsize=3, color=f"C{i}", label=label, linestyle="-" if not fits else "none")
        for x, p in points:
            if p is None:
                ax.annotate("missing", (x, 0), textcoords="offset points", xytext=(0, 4), ha="center", fontsize=8,
                            color=f"C{i}", rotation=90)
        if fits and label in fits and have:
            alpha, c = fits[label]
            xs = np.geomspace(min(x for x, _ in have), max(x for x, _ in have), 50)
            ax.plot(xs, alpha * np.log(xs) + c, color=f"C{i}", linestyle="--", linewidth=1)
    _hline(ax, hline)
    if log_x:
        ax.set_xscale("log")
    xs = sorted({x for points in series.values() for x, _ in points})
    if xs and len(xs) <= 12:  # label the sizes themselves, not powers of ten
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()
    ax.set_xlabel(xlabel)
    ax.set_ylabel(WIN_LABEL)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def histograms(path: Path, title: str, panels: list[tuple[str, dict[str, int]]]) -> Path:
    """Score histograms (1..5 and unparsed), one panel per curation run."""
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, (label, counts) in zip(axes.flat, panels):
        keys = [k for k in ("1", "2", "3", "4", "5", "unparsed") if k in counts] + \
               [k for k in counts if k not in ("1", "2", "3", "4", "5", "unparsed")]
        ax.bar(keys, [counts[k] for k in keys], color=["C3" if k == "unparsed" else "C0" for k in keys],
               edgecolor="black", linewidth=0.5)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("score")
        ax.set_ylabel("pairs")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(title)
    return _save(fig, path)


Diff = Optional[tuple[float, Optional[float]]]  # (paired difference, its SE) in win-rate points


def _diff_bars(ax, labels: list[str], diffs: list[Diff], xlabel: str) -> None:
    """Horizontal paired differences ± SE around a zero line; a missing one is written, not drawn."""
    y = np.arange(len(labels))[::-1]
    for yi, d in zip(y, diffs):
        if d is None:
            ax.text(0, yi, "n/a", ha="center", va="center", fontsize=8, color="grey")
        else:
            ax.errorbar([d[0]], [yi], xerr=[d[1] or 0], fmt="o", capsize=3, color="C0")
    ax.axvline(0, color="grey", linewidth=1)
    ax.set_yticks(y, labels)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", alpha=0.3)


def contrast(path: Path, title: str, labels: list[str], points: list[Point], diffs: list[Diff],
             reference: str, error_label: str) -> Path:
    """Left: win rate per configuration with error bars; right: each one minus the reference, paired
    over (seed, prompt), ± SE."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, max(3.2, 0.6 * len(labels) + 1.8)))
    x = np.arange(len(labels))
    have = [(xi, p) for xi, p in zip(x, points) if p is not None]
    if have:
        left.bar([xi for xi, _ in have], [p[0] for _, p in have], 0.6, yerr=[p[1] or 0 for _, p in have], capsize=3,
                 color=[f"C{i}" for i, _ in enumerate(have)], edgecolor="black", linewidth=0.5)
    top = max([p[0] + (p[1] or 0) for _, p in have] + [1.0])
    for xi, p in zip(x, points):
        if p is None:
            left.text(xi, top * 0.02, "missing", rotation=90, ha="center", va="bottom", fontsize=8)
    left.set_xticks(x, labels, rotation=20, ha="right")
    left.set_ylabel(WIN_LABEL)
    left.set_ylim(0, top * 1.15)
    left.set_title(f"win rate (error bars: {error_label})", fontsize=9)
    left.grid(axis="y", alpha=0.3)
    others = [(lab, d) for lab, d in zip(labels, diffs) if lab != reference]
    _diff_bars(right, [lab for lab, _ in others], [d for _, d in others], f"paired difference vs {reference} (points)")
    right.set_title("paired over (seed, prompt), ± SE", fontsize=9)
    fig.suptitle(title)
    return _save(fig, path)


def effects(path: Path, title: str, labels: list[str], diffs: list[Diff],
            xlabel: str = "paired difference in win rate (points), ± SE") -> Path:
    """Every effect of a report as a forest plot: paired difference ± SE."""
    fig, ax = plt.subplots(figsize=(7.5, max(3.0, 0.4 * len(labels) + 1.5)))
    _diff_bars(ax, labels, diffs, xlabel)
    ax.set_title(title)
    return _save(fig, path)
