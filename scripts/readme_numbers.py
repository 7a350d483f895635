#!/usr/bin/env python3
"""Rewrite (or, with --check, verify) the generated number blocks of README.md and
results/README.md from the committed results folders (ssl_xai_bench.reproduce.numbers).

    scripts/readme_numbers.py            rewrite the blocks in place
    scripts/readme_numbers.py --check    exit 1 and name the blocks that differ

Runs inside the test environment (.tox/tests/bin/python scripts/readme_numbers.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ssl_xai_bench.reproduce.numbers import refresh, stale

ROOT = Path(__file__).resolve().parents[1]
FILES = (ROOT / "README.md", ROOT / "results" / "README.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, do not write")
    args = parser.parse_args(argv)
    if args.check:
        differ = [line for path in FILES for line in stale(path, ROOT)]
        for line in differ:
            print(f"stale numbers block: {line}", file=sys.stderr)
        return 1 if differ else 0
    for path in FILES:
        path.write_text(refresh(path.read_text(encoding="utf-8"), ROOT), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
