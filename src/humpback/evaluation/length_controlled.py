"""Length-controlled win rate in the manner of AlpacaEval 2.0 (Dubois et al., 2024).

For one model's annotations against a baseline we fit, on soft labels y = preference - 1,

    logit P(model wins on instruction i) = b_len * tanh(dlen_i / sd(dlen)) + b_diff * difficulty_i + theta

with no intercept (theta multiplies a 0/1 "is the model" column), an L1 penalty whose strength is
picked by 5-fold grouped cross-validation on soft log loss, and dlen = len(output_2) - len(output_1)
in characters (AlpacaEval writes reference minus model; only the sign of b_len differs). The
length-controlled win rate is the mean predicted win probability over the model's rows with the length
term zeroed, times 100.

Regularising toward the baseline: AlpacaEval adds annotations of the *baseline's own* concise and
verbose variants against the baseline, with the model column set to 0 (they are as good as the
baseline) and a total sample weight lambda = 0.2 split between them; these rows pin the length slope.

Instruction difficulty: AlpacaEval reads a precomputed per-instruction table. Without one we estimate
it from the annotation sets at hand (per-instruction effects fitted jointly over all of them, with a
model term and a length slope per set, L2-shrunk) and the result says `length_controlled_exact: false`
with a note. The result is also marked inexact when the gamed rows are missing or are not the
baseline's own variants, since then the recipe differs from AlpacaEval's.
"""

from __future__ import annotations

import csv
import inspect
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from humpback.data.records import DataError
from humpback.evaluation.metrics import normalise_preference

Annotations = list[dict[str, Any]]


@dataclass
class LengthControlConfig:
    n_splits: int = 5  # grouped CV folds for the L1 strength (AlpacaEval: 5)
    n_Cs: int = 10  # inverse L1 strengths tried, log-spaced over [1e-4, 1e4] (sklearn's default grid)
    regularize_to_baseline_lambda: float = 0.2  # total weight of the gamed-baseline rows (AlpacaEval: 0.2)
    difficulty_l2_C: float = 1.0  # inverse L2 strength of the offline difficulty estimate (ours, not AlpacaEval's)
    random_state: int = 123  # liblinear seed (AlpacaEval: 123)


# ---------------------------------------------------------------- features


def length_feature(rows: Annotations) -> np.ndarray:
    """tanh of the model-minus-reference length difference over its sample sd (ddof=1)."""
    delta = np.array([len(r["output_2"]) - len(r["output_1"]) for r in rows], dtype=float)
    sd = delta.std(ddof=1) if len(delta) > 1 else 0.0
    return np.tanh(delta / sd) if sd > 0 else np.zeros_like(delta)


def soft_labels(rows: Annotations) -> np.ndarray:
    """P(model wins) = preference - 1 (legacy 0 -> draw); NaN where the preference is unusable."""
    prefs = [normalise_preference(r.get("preference")) for r in rows]
    return np.array([math.nan if p is None else p - 1.0 for p in prefs])


def _logistic(x: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -x))


def _soft_log_loss(p: np.ndarray, q: np.ndarray, w: np.ndarray) -> float:
    q = np.clip(q, 1e-15, 1 - 1e-15)
    return float(-np.mean(w * (p * np.log(q) + (1 - p) * np.log(1 - q))))


def _duplicate_for_soft_labels(X, p: np.ndarray, w: np.ndarray):
    """sklearn wants hard labels: each row becomes a y=1 copy weighted p*w and a y=0 copy weighted (1-p)*w."""
    X2 = sparse.vstack([X, X]).tocsr() if sparse.issparse(X) else np.vstack([X, X])
    y2 = np.concatenate([np.ones(len(p), dtype=int), np.zeros(len(p), dtype=int)])
    return X2, y2, np.concatenate([p * w, (1 - p) * w])


def _l1_logistic(C: float, random_state: int) -> LogisticRegression:
    # scikit-learn 1.8 deprecated `penalty`; older releases ignore l1_ratio unless penalty="elasticnet".
    kwargs = dict(C=C, solver="liblinear", fit_intercept=False, random_state=random_state)
    if inspect.signature(LogisticRegression).parameters["penalty"].default == "deprecated":
        return LogisticRegression(l1_ratio=1.0, **kwargs)
    return LogisticRegression(penalty="l1", **kwargs)


def fit_soft_l1_logistic_cv(X: np.ndarray, p: np.ndarray, w: np.ndarray, cfg: LengthControlConfig) -> tuple[np.ndarray, float]:
    """L1 logistic regression on soft labels; C chosen by grouped K-fold CV (a row's two copies share a fold)."""
    if len(p) < cfg.n_splits:
        raise ValueError(f"length control needs at least {cfg.n_splits} usable preferences, got {len(p)}")
    Cs = np.logspace(-4, 4, cfg.n_Cs)
    folds = list(GroupKFold(n_splits=cfg.n_splits).split(X, groups=np.arange(len(p))))
    losses = []
    for C in Cs:
        fold_losses = []
        for train, test in folds:
            X2, y2, sw = _duplicate_for_soft_labels(X[train], p[train], w[train])
            model = _l1_logistic(C, cfg.random_state).fit(X2, y2, sample_weight=sw)
            fold_losses.append(_soft_log_loss(p[test], model.predict_proba(X[test])[:, 1], w[test]))
        losses.append(np.mean(fold_losses))
    best_C = float(Cs[int(np.argmin(losses))])
    X2, y2, sw = _duplicate_for_soft_labels(X, p, w)
    model = _l1_logistic(best_C, cfg.random_state).fit(X2, y2, sample_weight=sw)
    return model.coef_[0].copy(), best_C


# ---------------------------------------------------------------- instruction difficulty


def estimate_instruction_difficulty(annotation_sets: list[Annotations], l2_C: float = 1.0) -> dict[str, float]:
    """Per-instruction effects from one joint soft-label logistic fit over all given annotation sets.

    Columns: one-hot instruction (the difficulty), one-hot set (its model term) and set x length
    feature (its own length slope); L2-shrunk so that instructions seen once stay near 0. The result is
    centred (the model terms absorb the mean). An offline stand-in for AlpacaEval's table, which was
    fitted the same way but over the whole leaderboard.
    """
    instructions = sorted({r["instruction"] for rows in annotation_sets for r in rows})
    col = {ins: j for j, ins in enumerate(instructions)}
    n_ins, n_sets = len(instructions), len(annotation_sets)
    rows_i, cols_i, vals, labels = [], [], [], []
    r = 0
    for s, rows in enumerate(annotation_sets):
        p, lf = soft_labels(rows), length_feature(rows)
        for k, row in enumerate(rows):
            if math.isnan(p[k]):
                continue
            rows_i += [r, r, r]
            cols_i += [col[row["instruction"]], n_ins + s, n_ins + n_sets + s]
            vals += [1.0, 1.0, lf[k]]
            labels.append(p[k])
            r += 1
    if r == 0:
        raise ValueError("no usable preferences to estimate instruction difficulty from")
    X = sparse.csr_matrix((vals, (rows_i, cols_i)), shape=(r, n_ins + 2 * n_sets))
    p = np.array(labels)
    X2, y2, sw = _duplicate_for_soft_labels(X, p, np.ones(r))
    model = LogisticRegression(C=l2_C, fit_intercept=False, max_iter=2000).fit(X2, y2, sample_weight=sw)
    d = model.coef_[0][:n_ins]
    d = d - d.mean()
    return {ins: float(d[j]) for ins, j in col.items()}


def read_difficulty(path: str | os.PathLike, reference_rows: Optional[Annotations] = None) -> dict[str, float]:
    """Load an instruction-difficulty table as {instruction: difficulty}.

    Accepted: JSON {instruction: value}; CSV with a value column `instruction_difficulty` (or
    `difficulty`) keyed by an `instruction` column, or else by the first column read as the row
    position in AlpacaEval's canonical order, which `reference_rows` (a full 805-row file) translates.
    """
    path = Path(path)
    if path.suffix == ".json":
        with path.open(encoding="utf-8") as f:
            table = json.load(f)
        if not isinstance(table, dict):
            raise DataError(f"{path}: expected a JSON object {{instruction: difficulty}}")
        return {str(k): _as_float(v, f"{path}: instruction {str(k)[:60]!r}") for k, v in table.items()}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames or []
        value_col = next((c for c in ("instruction_difficulty", "difficulty") if c in fields), None)
        if value_col is None:
            raise DataError(f"{path}:1: no 'instruction_difficulty' or 'difficulty' column in {fields}")
        key_col = "instruction" if "instruction" in fields else fields[0]
        table: dict[Any, float] = {}
        for lineno, rec in enumerate(reader, start=2):
            value = _as_float(rec[value_col], f"{path}:{lineno}")
            if key_col == "instruction":
                table[rec[key_col]] = value
            else:
                try:
                    table[int(rec[key_col])] = value
                except (TypeError, ValueError):
                    raise DataError(f"{path}:{lineno}: row position {rec[key_col]!r} is not an integer") from None
    if key_col == "instruction":
        return table
    if reference_rows is None:
        raise DataError(f"{path}: keyed by row position; pass the model's full annotation file to map positions")
    missing = [i for i in range(len(reference_rows)) if i not in table]
    if missing:
        raise DataError(f"{path}: no difficulty for row position(s) {missing[:5]} of {len(reference_rows)}")
    return {row["instruction"]: table[i] for i, row in enumerate(reference_rows)}


def _as_float(value: Any, where: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: difficulty {value!r} is not a number") from None
    if math.isnan(out):
        raise DataError(f"{where}: difficulty is NaN")
    return out


# ---------------------------------------------------------------- the GLM


def _design(rows: Annotations, difficulty: dict[str, float], is_model: float, where: str) -> np.ndarray:
    try:
        diff = np.array([difficulty[r["instruction"]] for r in rows], dtype=float)
    except KeyError as e:
        raise DataError(f"{where}: no instruction difficulty for {str(e.args[0])[:80]!r}") from None
    return np.column_stack([length_feature(rows), diff, np.full(len(rows), is_model)])


def length_controlled_win_rate(
    annotations: Annotations,
    difficulty: Optional[dict[str, float]] = None,
    gamed: Optional[list[Annotations]] = None,
    cfg: Optional[LengthControlConfig] = None,
    difficulty_sets: Optional[list[Annotations]] = None,
) -> dict[str, Any]:
    """LC win rate of output_2 over output_1 for one model's annotations.

    difficulty: {instruction: value} (AlpacaEval's table); None -> estimated jointly from
      `annotations`, `gamed` and `difficulty_sets` (other models' annotations against the same baseline).
    gamed: the baseline's concise and verbose variants annotated against the baseline.
    """
    cfg = cfg or LengthControlConfig()
    gamed = [g for g in (gamed or []) if g]
    notes: list[str] = []
    baselines = {r.get("generator_1") for r in annotations}
    models = {r.get("generator_2") for r in annotations}
    if len(models) == 1 and models == baselines:
        return _result(50.0, difficulty is not None, ["model is the baseline: 50 by construction"], None, None)

    if difficulty is None:
        sets = [annotations, *gamed, *(difficulty_sets or [])]
        difficulty = estimate_instruction_difficulty(sets, cfg.difficulty_l2_C)
        notes.append(
            f"instruction difficulty estimated offline from {len(sets)} annotation set(s) "
            "(AlpacaEval uses a precomputed table): approximate"
        )
    if not gamed:
        notes.append("no gamed-baseline rows (concise/verbose variants of the baseline): not regularised toward the baseline")
    else:
        baseline = str(next(iter(baselines))) if len(baselines) == 1 else None
        variants = {str(r.get("generator_2")) for g in gamed for r in g}
        foreign = sorted(v for v in variants if baseline is None or not v.startswith(baseline))
        if foreign:
            notes.append(
                f"gamed rows {foreign} are not variants of the baseline {baseline!r}; they are treated as "
                "baseline-equal as AlpacaEval does, which differs from its recipe"
            )

    X = [_design(annotations, difficulty, 1.0, "annotations")]
    p = [soft_labels(annotations)]
    w = [np.ones(len(annotations))]
    for k, g in enumerate(gamed):
        X.append(_design(g, difficulty, 0.0, f"gamed set {k}"))
        p.append(soft_labels(g))
        w.append(np.full(len(g), cfg.regularize_to_baseline_lambda / len(gamed)))
    X_all, p_all, w_all = np.vstack(X), np.concatenate(p), np.concatenate(w)
    keep = ~np.isnan(p_all)
    coef, best_C = fit_soft_l1_logistic_cv(X_all[keep], p_all[keep], w_all[keep], cfg)

    X_test = X[0].copy()
    X_test[:, 0] = 0.0  # what the model would get if its answers were as long as the baseline's
    lc = 100 * float(_logistic(X_test @ coef).mean())
    return _result(lc, not notes, notes, coef, best_C)


def _result(lc: float, exact: bool, notes: list[str], coef, best_C) -> dict[str, Any]:
    out: dict[str, Any] = {"length_controlled_winrate": lc, "length_controlled_exact": bool(exact)}
    if coef is not None:
        out["length_controlled_coefficients"] = {
            "length": float(coef[0]),
            "instruction_difficulty": float(coef[1]),
            "model": float(coef[2]),
        }
        out["length_controlled_C"] = best_C
    if notes:
        out["length_controlled_note"] = "; ".join(notes)
    return out
