"""`humpback-sweeps`: the folder of the shipped paper sweeps, for Hydra's --config-dir (-cd takes a path):

    humpback -m -cd "$(humpback-sweeps)" -cn quality_vs_quantity
    ls "$(humpback-sweeps)"                                         # the sweeps there are
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional

from humpback.paths import sweeps_dir


def main(argv: Optional[list[str]] = None) -> int:
    argparse.ArgumentParser(prog="humpback-sweeps", description="Print the folder of the shipped paper sweeps: "
                            'humpback -m -cd "$(humpback-sweeps)" -cn quality_vs_quantity').parse_args(argv)
    print(sweeps_dir())
    return 0


if __name__ == "__main__":
    sys.exit(main())
