"""Run `liaison-bot` under cProfile counting CPU time, not wall time (bench --profile).

Wall-clock profiles of an asyncio process on a busy machine are mostly waiting: time spent in
a send() or a thread hand-off grows with the load, not with our code. Usage:
`python bench/profiled.py OUT ARGS...` runs `liaison-bot ARGS...` and writes OUT on exit.
"""

from __future__ import annotations

import cProfile
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    sys.argv = ["liaison-bot", *args]
    from bot.__main__ import main as bot_main

    profiler = cProfile.Profile(time.thread_time)
    try:
        profiler.runcall(bot_main)
    except SystemExit:
        pass
    finally:
        profiler.dump_stats(out)


if __name__ == "__main__":
    main()
