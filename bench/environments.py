"""Program environments: how long the tool takes to ready a version's environment, with uv and with
the venv + pip fallback, installing the tests' own wheel from a local folder with no index (what a
machine with uv's or pip's cache warm sees; network time comes on top of the first install only).

    python bench/environments.py [--repeat N]

Rows: a new environment for a script declaring nothing; the first install (cold cache); the same
declared set again (reused: nothing runs; the next version's wait); a changed set (the environment made
anew, the package from the cache); and with the sandbox, the same first install inside bubblewrap.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the wheel builder lives there

from wheels import local_index  # noqa: E402

from iterative_coder.execution.environment import BUILDER_VARIABLE, FIND_LINKS_VARIABLE, prepare  # noqa: E402
from iterative_coder.execution.sandbox import find_sandbox  # noqa: E402

STEPS = (  # in order, in one folder: what each version declares
    ("nothing declared", ()),
    ("first install", ("tinypkg",)),
    ("unchanged (reused)", ("tinypkg",)),
    ("changed set (cache)", ("tinypkg>=1",)),
)
REUSE_TARGET = 1.0  # seconds: an unchanged environment is ready for the next version within this


def measure(builder: str, sandboxed: bool, repeat: int) -> dict[str, float]:
    """The median seconds of each step for ``builder``, ``repeat`` times over, each in a new folder."""
    os.environ[BUILDER_VARIABLE] = builder
    sandbox = find_sandbox("auto") if sandboxed else None
    samples: dict[str, list[float]] = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory(prefix="bench-env-") as folder:
            for name, requested in STEPS:
                started = time.monotonic()
                prepare(Path(folder), requested, sandbox)
                samples.setdefault(name, []).append(time.monotonic() - started)
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-wheels-") as wheels:
        os.environ[FIND_LINKS_VARIABLE] = str(local_index(Path(wheels)))
        sandbox_modes = [False, True] if find_sandbox("auto") is not None else [False]
        columns = [(builder, sandboxed) for sandboxed in sandbox_modes for builder in ("uv", "pip")]
        results = {column: measure(*column, args.repeat) for column in columns}
    names = [name for name, _ in STEPS]
    heads = [f"{builder}{' (sandbox)' if sandboxed else ''}" for builder, sandboxed in columns]
    print(f"| step | {' | '.join(heads)} |")
    print(f"|---|{'---|' * len(heads)}")
    for name in names:
        print(f"| {name} | {' | '.join(f'{results[column][name]:.3f} s' for column in columns)} |")
    slowest = max(results[column]["unchanged (reused)"] for column in columns)
    print(
        f"\nAn unchanged environment is ready in at most {slowest:.3f} s (target: under {REUSE_TARGET:g} s)."
    )
    if slowest >= REUSE_TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
