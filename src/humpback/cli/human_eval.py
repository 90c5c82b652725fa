"""`humpback-human-eval`: a side-by-side sheet for annotators from an annotation file, and the
win / tie / lose percentages from the filled-in sheet.

    humpback-human-eval export outputs/.../annotations.json sheet.csv --seed 0   # writes sheet.csv + sheet.key.json
    humpback-human-eval score sheet.csv                                          # after annotators fill `choice`
"""

from __future__ import annotations

import argparse
import json
import sys

from humpback.data.records import DataError
from humpback.evaluation.annotations import read_annotations
from humpback.evaluation.human_eval import default_key_path, export_side_by_side, import_judgements


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="humpback-human-eval", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    exp = sub.add_parser("export", help="write a randomised side-by-side CSV and its hidden key")
    exp.add_argument("annotations", help="AlpacaEval annotation file (output_1 = baseline, output_2 = model)")
    exp.add_argument("sheet", help="CSV to write for annotators")
    exp.add_argument("--seed", type=int, default=0, help="seed of the per-instruction order coin")
    exp.add_argument("--key", help="key file (default: SHEET.key.json)")
    sc = sub.add_parser("score", help="win / tie / lose percentages from a filled-in sheet")
    sc.add_argument("sheet")
    sc.add_argument("--key", help="key file (default: SHEET.key.json)")
    args = ap.parse_args(argv)
    try:
        if args.command == "export":
            key = export_side_by_side(read_annotations(args.annotations), args.sheet, args.seed, key_path=args.key)
            print(json.dumps({"sheet": args.sheet, "key": str(key)}))
        else:
            print(json.dumps(import_judgements(args.sheet, args.key or default_key_path(args.sheet))))
    except (DataError, FileNotFoundError) as e:
        print(f"humpback-human-eval: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
