"""Run by test_crash.py in a subprocess: apply a flow file and stop at one checkpoint until killed.

    python -m tests.evolve.apply_and_pause DATABASE_URL FLOW_FILE CHECKPOINT
"""
from __future__ import annotations

import sys
import time

from engine.evolve import apply as evolve_apply
from engine.evolve import apply_flow
from engine.language.loader import load_flow_file
from engine.storage.db import make_engine


def main(url: str, path: str, checkpoint: str) -> None:
    def pause(name: str) -> None:
        if name == checkpoint:
            print(f"paused at {name}", flush=True)
            time.sleep(600)

    evolve_apply.CHECKPOINT_HOOKS.append(pause)
    apply_flow(make_engine(url), load_flow_file(path))
    print("finished without pausing", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
