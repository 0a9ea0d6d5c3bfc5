"""Prompt-cache figures: how much of each Coder and Reviewer prompt repeats, byte for byte from its
start, the previous call's prompt of its role and any earlier request of the session (the Reviewer's
of the version before, across roles), and what the input costs with and without OpenAI-style prompt
caching at list prices.

One unattended session of the tool (the real CLI, the fake server) for the brief's own demo request,
an analog clock in a tkinter window, with a plan and acceptance tests of the size real models write
(about 2,700 and 2,600 characters). Each prompt is the text the server received: every message's
content, in order, joined by blank lines, which is the order a provider's prefix cache sees.

OpenAI's rule is modelled: a prompt of 1,024 tokens or more has its longest prefix already seen in any
earlier request served from the cache, in steps of 128 tokens; tokens are counted as characters / 4.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fake_openai import BENCH_CHUNK_CHARS, FakeOpenAIServer

from iterative_coder.accounting import KNOWN_PRICES

PRICED_MODEL = "gpt-4.1"
MIN_CACHED_TOKENS, CACHE_STEP_TOKENS, CHARS_PER_TOKEN = 1024, 128, 4
FAKE_KEY = "sk-fake-bench-0000000000000000"
Row = tuple[str, str, str, str, str, str]  # figure, target, median, min, max, met

PLAN = """# Analog clock

## Request
Make me a python app that displays the current time on an analog clock face.

## Main challenges
- Drawing the face, the hour marks and three hands so that they stay round and centred when the
  window is resized.
- Updating every second without drifting: schedule each tick from the wall clock, not by counting.
- Keeping the drawing code testable without a display: the geometry (angles, end points) must be
  plain functions that the window only calls.
- Closing cleanly: the window's close button and Ctrl-C both end the program without a traceback.

## Requirements
1. `hand_angles(hour, minute, second)` returns the angles in degrees, clockwise from 12 o'clock, of
   the hour, minute and second hands; the hour hand moves continuously with the minutes.
2. `hand_end(cx, cy, length, angle)` returns the end point of a hand of `length` pixels drawn from
   the centre `(cx, cy)` at `angle` degrees, in screen coordinates (y grows downwards).
3. `tick_marks(cx, cy, radius)` returns 60 line segments, the twelve hour marks longer than the
   minute marks.
4. `ClockApp(root)` builds a tkinter Canvas that fills the window and redraws the face and hands
   when the window is resized.
5. The hands show the local time and move once a second; each update is scheduled with `after()` for
   the start of the next second.
6. The window title is "Analog clock" and its initial size is 400 by 400 pixels.
7. Closing the window or pressing Ctrl-C in the terminal ends the program with exit code 0.
8. `main()` starts the app; running the file as a script calls `main()`.

Do you approve this plan? Reply "approve", or tell me what to change."""

TESTS = """```python
import math

import pytest

import script


def close(a, b, tolerance=1e-6):
    return abs(a - b) <= tolerance


def test_req1_hands_at_three_oclock():
    hour, minute, second = script.hand_angles(3, 0, 0)
    assert close(hour, 90) and close(minute, 0) and close(second, 0)


def test_req1_hour_hand_moves_with_the_minutes():
    hour, minute, _ = script.hand_angles(6, 30, 0)
    assert close(hour, 195) and close(minute, 180)


def test_req1_second_hand():
    assert close(script.hand_angles(0, 0, 45)[2], 270)


def test_req2_end_point_straight_up():
    x, y = script.hand_end(100, 100, 50, 0)
    assert close(x, 100) and close(y, 50)


def test_req2_end_point_at_three():
    x, y = script.hand_end(100, 100, 50, 90)
    assert close(x, 150) and close(y, 100)


def test_req3_sixty_marks_twelve_longer():
    marks = script.tick_marks(100, 100, 80)
    assert len(marks) == 60
    lengths = [math.dist(mark[:2], mark[2:]) for mark in marks]
    longest = max(lengths)
    assert sum(1 for length in lengths if close(length, longest)) == 12


@pytest.fixture
def root():
    tkinter = pytest.importorskip("tkinter")
    try:
        window = tkinter.Tk()
    except tkinter.TclError:
        pytest.skip("no display")
    yield window
    window.destroy()


def test_req4_canvas_fills_the_window(root):
    app = script.ClockApp(root)
    assert app.canvas.winfo_manager() in ("pack", "grid", "place")


def test_req6_title(root):
    script.ClockApp(root)
    assert root.title() == "Analog clock"
```"""


def _script(version: int) -> str:
    """A Coder reply: the clock, about 70 lines, one function different in each version."""
    return f'''```python
import math
import time
import tkinter as tk

VERSION = {version}


def hand_angles(hour, minute, second):
    """Angles of the hour, minute and second hands, clockwise from 12, in degrees."""
    return ((hour % 12) * 30 + minute * 0.5, minute * 6 + second * 0.1 * {version % 2}, second * 6)


def hand_end(cx, cy, length, angle):
    radians = math.radians(angle)
    return cx + length * math.sin(radians), cy - length * math.cos(radians)


def tick_marks(cx, cy, radius):
    marks = []
    for i in range(60):
        inner = radius * (0.85 if i % 5 == 0 else 0.93)
        x1, y1 = hand_end(cx, cy, inner, i * 6)
        x2, y2 = hand_end(cx, cy, radius, i * 6)
        marks.append((x1, y1, x2, y2))
    return marks


class ClockApp:
    def __init__(self, root):
        self.root = root
        root.title("Analog clock")
        root.geometry("400x400")
        self.canvas = tk.Canvas(root, background="white")
        self.canvas.pack(fill="both", expand=True)
        self.canvas.bind("<Configure>", lambda _event: self.draw())
        self.tick()

    def draw(self):
        self.canvas.delete("all")
        width, height = self.canvas.winfo_width(), self.canvas.winfo_height()
        cx, cy, radius = width / 2, height / 2, min(width, height) / 2 - 10
        for mark in tick_marks(cx, cy, radius):
            self.canvas.create_line(*mark)
        now = time.localtime()
        hour, minute, second = hand_angles(now.tm_hour, now.tm_min, now.tm_sec)
        for angle, length, thickness in ((hour, 0.5, 6), (minute, 0.75, 4), (second, 0.9, 1)):
            self.canvas.create_line(cx, cy, *hand_end(cx, cy, radius * length, angle), width=thickness)

    def tick(self):
        self.draw()
        delay = 1000 - int(time.time() * 1000) % 1000
        self.root.after(delay, self.tick)


def main():
    root = tk.Tk()
    ClockApp(root)
    try:
        root.mainloop()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
```'''


TOPICS = ("resize flicker", "drift after sleep", "hand thickness", "Ctrl-C", "title", "tick marks")


def _review(version: int) -> str:
    """A REVISE review with a point no earlier version had (so the session never stalls)."""
    topic = f"{TOPICS[(version - 1) % len(TOPICS)]} ({version})"
    return json.dumps(
        {
            "verdict": "REVISE",
            "coverage": [{"requirement": n, "status": "met", "evidence": "ClockApp"} for n in range(1, 9)],
            "previous_points": [{"point": 1, "status": "fixed", "evidence": "draw"}] if version > 1 else [],
            "points": [{"category": "robustness", "where": "ClockApp.draw", "issue": f"Handle {topic}."}],
        }
    )


def _numbered(reply: object) -> list:
    """Replies for every version in turn (each call gets the next)."""
    return [lambda _request, version=version: reply(version) for version in range(1, 40)]  # type: ignore[operator]


def session_prompts(iterations: int) -> list[tuple[str, str]]:
    """Every prompt of one session, in order, as the server received it: (role, text)."""
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        server.enqueue("planner", PLAN)
        server.enqueue("tester", TESTS)
        server.enqueue("coder", *_numbered(_script))
        server.enqueue("reviewer", *_numbered(_review))
        drop = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OAI_CONFIG_LIST", "ITERATIVE_CODER_MODEL")
        env = {key: value for key, value in os.environ.items() if key not in drop}
        env |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": FAKE_KEY, "HOME": tmp}
        command = [sys.executable, "-m", "iterative_coder", "--task", "an analog clock", "--yes"]
        command += ["--max-iterations", str(iterations), "--workspace", str(Path(tmp) / "ws")]
        done = subprocess.run(command, cwd=tmp, env=env, capture_output=True, text=True, timeout=300)
        if done.returncode != 1:  # the limit, without approval, is the expected end
            raise SystemExit(f"prefix benchmark session failed ({done.returncode}): {done.stderr[-2000:]}")
        return [(request.role, request.text) for request in server.requests]


def _cached_tokens(shared_chars: int, prompt_chars: int) -> int:
    """Tokens OpenAI would serve from its cache for a prompt sharing ``shared_chars`` with an earlier one."""
    if prompt_chars // CHARS_PER_TOKEN < MIN_CACHED_TOKENS:
        return 0
    shared = shared_chars // CHARS_PER_TOKEN
    return shared // CACHE_STEP_TOKENS * CACHE_STEP_TOKENS if shared >= MIN_CACHED_TOKENS else 0


def _stable_end(prompt: str) -> int:
    """Where the stable part (the common preamble, the plan, the acceptance tests) of a prompt ends."""
    tests = TESTS.removeprefix("```python\n").removesuffix("\n```").rstrip()
    found = prompt.find(tests)
    return found + len(tests) if found >= 0 else len(prompt)


def _one(value: float, fmt: str) -> tuple[str, str, str]:
    text = format(value, fmt)
    return text, text, text


def _spread(values: list[float]) -> tuple[str, str, str]:
    return tuple(format(100 * v, ".0f") for v in (statistics.median(values), min(values), max(values)))  # type: ignore[return-value]


def prefix_rows(iterations: int) -> list[Row]:
    """The figures, as rows of bench/RESULTS.md's table."""
    prompts = session_prompts(iterations)
    rows: list[Row] = []
    price = KNOWN_PRICES[PRICED_MODEL]
    plain = cached_cost = 0.0
    for role in ("coder", "reviewer"):
        calls = [index for index, (who, _) in enumerate(prompts) if who == role]
        texts = [prompts[index][1] for index in calls]
        pairs = list(zip(texts, texts[1:], strict=False))  # (call i-1, call i) for iterations 2..N
        shared = [len(os.path.commonprefix(pair)) for pair in pairs]
        stable = [_stable_end(later) for _, later in pairs]
        anywhere = [  # the longest prefix any earlier request of the session began with, calls 2..N
            max(len(os.path.commonprefix([prompts[index][1], text])) for _, text in prompts[:index])
            for index in calls[1:]
        ]
        whole = all(s >= end for s, end in zip(shared, stable, strict=True))
        rows.append((f"{role}: stable part (preamble, plan, tests), chars", "", *_one(stable[-1], ",d"), ""))
        rows.append(
            (
                f"{role}: calls 2-{len(texts)} whose shared prefix holds the whole stable part",
                "all",
                *_one(sum(s >= e for s, e in zip(shared, stable, strict=True)), "d"),
                "yes" if whole else "NO",
            )
        )
        share = [s / len(later) for s, (_, later) in zip(shared, pairs, strict=True)]
        rows.append(
            (
                f"{role}: share of the prompt equal to the previous call's, calls 2-{len(texts)} (%)",
                "",
                *_spread(share),
                "",
            )
        )
        found = [s / len(text) for s, text in zip(anywhere, texts[1:], strict=True)]
        target = ">= 60" if role == "coder" else ""
        met = ("yes" if min(found) >= 0.6 else "NO") if role == "coder" else ""
        rows.append(
            (
                f"{role}: share found in any earlier request (OpenAI's rule), calls 2-{len(texts)} (%)",
                target,
                *_spread(found),
                met,
            )
        )
        for later, common in zip(texts[1:], anywhere, strict=True):
            tokens = len(later) // CHARS_PER_TOKEN
            cached = _cached_tokens(common, len(later))
            plain += tokens / 1000 * price[0]
            cached_cost += (tokens - cached) / 1000 * price[0] + cached / 1000 * price[2]
    label = f"Coder + Reviewer input, calls 2-{iterations}, {PRICED_MODEL} list price"
    rows.append((f"{label}, no caching (USD)", "", *_one(plain, ".4f"), ""))
    rows.append((f"{label}, OpenAI prompt caching (USD)", "", *_one(cached_cost, ".4f"), ""))
    rows.append((f"{label}: saved by caching (%)", "", *_one(100 * (1 - cached_cost / plain), ".0f"), ""))
    return rows


if __name__ == "__main__":
    for row in prefix_rows(int(sys.argv[1]) if len(sys.argv) > 1 else 10):
        print(" | ".join(row))
