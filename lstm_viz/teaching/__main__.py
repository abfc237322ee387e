"""python -m lstm_viz.teaching build [--only KEY ...] [--out DIR]: (re)build the built-in teaching models."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .build import BUILDERS, build
from .catalog import MODELS_DIR


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lstm_viz.teaching",
                                     description="Build the trained teaching models the app opens with.")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train every built-in model with fixed seeds and store its checkpoint")
    b.add_argument("--only", nargs="+", choices=list(BUILDERS), help="build only these models")
    b.add_argument("--out", type=Path, default=MODELS_DIR, help=f"folder for the checkpoints (default {MODELS_DIR})")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(args.only, args.out, log=lambda line: print(line, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
