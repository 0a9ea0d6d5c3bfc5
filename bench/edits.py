"""Revisions as edits against whole files: the Coder's output tokens per revision, the wall time of
an iteration with the model generating at a realistic speed, and the script length from which
``--edit-format auto`` asks for edits.

    python bench/edits.py [--quick]

Every revision is written by the tool itself (in-process, through the real OpenAI client) from a
reply of the fake server: the same one-function fix, sent whole or as one SEARCH/REPLACE block that
quotes the whole function, the way many models send it. Run by bench/run.py too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server and the scripted programs live there

from drive import in_session, review_to_answer, run_loop, start_workspace  # noqa: E402
from edit_cases import Fix, edits_reply, function_fix, program, whole_reply  # noqa: E402
from fake_openai import BENCH_CHUNK_CHARS, FakeOpenAIServer  # noqa: E402
from recording_ui import RecordingUI  # noqa: E402
from scripted import review  # noqa: E402

from iterative_coder.coding import EDIT_LINES, write_version  # noqa: E402
from iterative_coder.settings import Settings  # noqa: E402

SIZES = (50, 150, 400)
TOKEN_TARGETS = {150: 0.25, 400: 0.12}  # diff output at most this share of whole
SPEED = 60  # tokens a second, a realistic generation speed for a hosted model
TIMED_LINES, SPEEDUP = 400, 3.0  # diff at least 3 times faster per iteration at 400 lines
SWEEP = tuple(range(50, 201, 10))  # the lengths measured to choose the auto threshold
HALF = 0.5  # auto asks for edits once they cost at most half the output of a whole file
CHARS_PER_TOKEN = 4
FIX = function_fix("book")

Row = tuple[str, str, str, str, str, str]  # figure, target, median, min, max, met (as bench/run.py)


@dataclass(frozen=True)
class Revision:
    """One revision written by the tool: its size, and what the Coder's reply cost."""

    lines: int  # of the previous script
    recorded: int  # completion tokens as the tool recorded them (the fake server counts words)
    estimated: int  # the reply's characters / 4, closer to a real tokenizer for code
    prompt: int  # the Coder's prompt, characters / 4


@contextlib.contextmanager
def version_1_of(previous: str, reply: str) -> Iterator[tuple[Path, FakeOpenAIServer]]:
    """A workspace holding ``previous`` as script_v1.py, and a fake server whose Coder sends ``reply``."""
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        root = Path(tmp)
        start_workspace(root)
        (root / "script_v1.py").write_text(previous)
        server.enqueue("coder", reply)
        yield root, server


def revision(lines: int, edit_format: str, fix: Fix = FIX) -> Revision:
    """Version 2 of a program of about ``lines`` lines, ``fix`` sent whole or as edit blocks."""
    previous = program(lines)
    reply = whole_reply(fix.on(previous)) if edit_format == "whole" else edits_reply(fix)
    with version_1_of(previous, reply) as (root, server):
        review_to_answer(root)
        settings = Settings(edit_format=edit_format, interactive=False)
        assert in_session(server, root, RecordingUI(), settings, lambda ctx: write_version(ctx, 2))
        assert (root / "script_v2.py").read_text() == fix.on(previous), "the revision was not applied"
        calls = json.loads((root / "session.json").read_text())["calls"]
        (call,) = [c for c in calls if c["role"] == "coder"]
        assert call["answered"] == ("whole" if edit_format == "whole" else "edits")
        prompt = len(server.requests_for("coder")[0].text) // CHARS_PER_TOKEN
    estimated = len(reply) // CHARS_PER_TOKEN
    return Revision(len(previous.splitlines()), call["completion_tokens"], estimated, prompt)


def iteration_seconds(lines: int, edit_format: str, speed: float) -> float:
    """Wall time of version 2 (the Coder's reply, then the Reviewer's) at ``speed`` tokens a second."""
    previous = program(lines)
    reply = whole_reply(FIX.on(previous)) if edit_format == "whole" else edits_reply(FIX)
    with version_1_of(previous, reply) as (root, server):
        server.enqueue("reviewer", review(1, "REVISE"), review(2, "REVISE"))
        server.tokens_per_second = speed
        outcome, version, _ = run_loop(
            server, root, [], max_iterations=2, interactive=False, edit_format=edit_format
        )
        assert (outcome, version) == ("limit", 2), outcome
        coder = server.requests_for("coder")[-1]
        reviewer = server.requests_for("reviewer")[-1]
        return reviewer.answered_at - coder.received_at


def threshold(sweep: list[tuple[Revision, Revision]]) -> float | None:
    """The script length (lines, interpolated between the lengths measured) from which edits cost at
    most half the output of a whole file."""
    points = [(whole.lines, diff.estimated / whole.estimated) for whole, diff in sweep]
    for (n0, r0), (n1, r1) in zip(points, points[1:], strict=False):
        if r0 > HALF >= r1:
            return n0 + (n1 - n0) * (r0 - HALF) / (r0 - r1)
    return None


def sweep() -> list[tuple[Revision, Revision]]:
    """Whole against diff for every length of :data:`SWEEP` (each length once)."""
    lengths = sorted({len(program(n).splitlines()) for n in SWEEP})
    return [(revision(n, "whole"), revision(n, "diff")) for n in lengths]


def rows(quick: bool = False) -> list[Row]:
    """The figures for bench/run.py's table. ``quick``: 50 and 150 lines, no sweep, timing at 150
    lines and 100 times the speed (a check that it works)."""
    found: list[Row] = []
    add = _adder(found)
    sizes = SIZES[:2] if quick else SIZES
    pairs = {n: (revision(n, "whole"), revision(n, "diff")) for n in sizes}
    for n, (whole, diff) in pairs.items():
        add(f"Coder output per revision at {whole.lines} lines, whole (tokens)", "", whole.estimated)
        add(f"Coder output per revision at {whole.lines} lines, diff (tokens)", "", diff.estimated)
        share, words, target = (
            diff.estimated / whole.estimated,
            diff.recorded / whole.recorded,
            TOKEN_TARGETS.get(n),
        )
        met = None if target is None else max(share, words) <= target
        shown = f"<= {target:.0%}" if target else ""
        add(
            f"diff / whole output at {whole.lines} lines (in words: {words:.0%})", shown, share, _percent, met
        )
    whole, diff = pairs[sizes[-1]]
    add(f"Coder prompt at {whole.lines} lines, whole (tokens)", "", whole.prompt)
    add(f"Coder prompt at {whole.lines} lines, diff: with the edit rules (tokens)", "", diff.prompt)
    numbers = whole.lines * len("   1| ") // CHARS_PER_TOKEN
    add("- line numbers on the previous script would add (tokens, not shown)", "", numbers)
    timed, speed = (150, SPEED * 100) if quick else (TIMED_LINES, SPEED)
    whole_s, diff_s = iteration_seconds(timed, "whole", speed), iteration_seconds(timed, "diff", speed)
    label = f"at {len(program(timed).splitlines())} lines, {speed:g} tokens/s"
    add(f"iteration wall time {label}, whole (s)", "", whole_s, _seconds)
    add(f"iteration wall time {label}, diff (s)", "", diff_s, _seconds)
    met = None if quick else whole_s / diff_s >= SPEEDUP
    add(f"whole / diff wall time {label}", f">= {SPEEDUP:g}x", whole_s / diff_s, _times, met)
    if not quick:
        measured = threshold(sweep()) or 0.0
        add("auto: length where diff output = half of whole (lines)", "", measured)
        add("auto: edits above this many lines (coding.EDIT_LINES)", f"~ {measured:.0f}", EDIT_LINES)
    return found


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _seconds(value: float) -> str:
    return f"{value:.1f}"


def _times(value: float) -> str:
    return f"{value:.1f}x"


def _adder(found: list[Row]) -> Callable[..., None]:
    def add(
        figure: str,
        target: str,
        value: float,
        fmt: Callable[[float], str] = "{:,.0f}".format,
        ok: bool | None = None,
    ) -> None:
        shown = fmt(value)
        found.append((figure, target, shown, shown, shown, {True: "yes", False: "NO", None: ""}[ok]))

    return add


def sweep_table() -> str:
    """The measured curve behind the auto threshold, as a Markdown table."""
    lines = ["| lines | whole (tokens) | diff (tokens) | diff / whole | seconds saved at 60 tokens/s |"]
    lines.append("|---|---|---|---|---|")
    for whole, diff in sweep():
        saved = (whole.estimated - diff.estimated) / SPEED
        share = diff.estimated / whole.estimated
        lines.append(f"| {whole.lines} | {whole.estimated} | {diff.estimated} | {share:.0%} | {saved:.1f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, no sweep: a check that it works")
    parser.add_argument("--sweep", action="store_true", help="print the curve behind the auto threshold")
    options = parser.parse_args()
    started = time.perf_counter()
    if options.sweep:
        print(sweep_table())
        return
    print("| figure | target | median | min | max | met |\n|---|---|---|---|---|---|")
    for row in rows(options.quick):
        print("| " + " | ".join(row) + " |")
    print(f"\n{time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
