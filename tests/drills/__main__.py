"""Run the drills: `python -m tests.drills [kill outage burst flood fuzz] [--cycles N]`."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from tests.drills.scenarios import run

ALL = ("kill", "outage", "burst", "flood", "fuzz")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.drills", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="DRILL", help=f"any of {', '.join(ALL)}")
    parser.add_argument("--cycles", type=int, default=100, help="kill drill cycles (100)")
    parser.add_argument("--outage", type=float, default=60.0, help="outage seconds (60)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drills-") as tmp:
        asyncio.run(
            run(args.names or list(ALL), Path(tmp), cycles=args.cycles, outage_s=args.outage)
        )


if __name__ == "__main__":
    main()
