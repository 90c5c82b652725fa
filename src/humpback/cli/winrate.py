"""`humpback-winrate FILE...`: AlpacaEval metrics of annotation files, one JSON object per line.

  humpback-winrate results/*/annotations.json
  humpback-winrate model.json --length-controlled --concise base_concise.json --verbose base_verbose.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any, Optional

from humpback.data.records import DataError
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.length_controlled import length_controlled_win_rate, read_difficulty
from humpback.evaluation.metrics import win_rate_metrics


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="humpback-winrate",
        description="Win rate, standard error, counts and optionally the length-controlled win rate "
        "(AlpacaEval 2.0 style) of AlpacaEval annotation files.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="annotation JSON files (output_1 = reference)")
    p.add_argument("--length-controlled", action="store_true", help="also fit the length-controlled GLM")
    p.add_argument("--concise", metavar="F", help="annotations of the baseline's concise variant vs the baseline")
    p.add_argument("--verbose", metavar="F", help="annotations of the baseline's verbose variant vs the baseline")
    p.add_argument(
        "--difficulty",
        metavar="F",
        help="instruction-difficulty table (CSV or JSON); without it difficulty is estimated from the "
        "given files and the result is marked length_controlled_exact: false",
    )
    return p


def _jsonable(value: Any) -> Any:
    """Strict JSON: NaN (e.g. the standard error of a single row) becomes null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if (args.concise or args.verbose or args.difficulty) and not args.length_controlled:
        print("humpback-winrate: --concise/--verbose/--difficulty only apply with --length-controlled", file=sys.stderr)
    try:
        sets = {f: read_annotations(f) for f in args.files}
        gamed = [read_annotations(f) for f in (args.concise, args.verbose) if f]
        for f, rows in sets.items():
            out: dict[str, Any] = {"file": f, **win_rate_metrics(rows)}
            if args.length_controlled:
                difficulty = read_difficulty(args.difficulty, reference_rows=rows) if args.difficulty else None
                base = {r.get("generator_1") for r in rows}
                # other input files against the same baseline help the offline difficulty estimate
                others = [o for g, o in sets.items() if g != f and {r.get("generator_1") for r in o} == base]
                out.update(length_controlled_win_rate(rows, difficulty=difficulty, gamed=gamed, difficulty_sets=others))
            print(json.dumps(_jsonable(out), ensure_ascii=False), flush=True)
    except (DataError, OSError, ValueError) as e:
        print(f"humpback-winrate: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
