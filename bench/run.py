"""Benchmarks: context growth against a shared-history group chat, orchestration overhead,
start-up, and memory. No network: every model call goes to the project's fake server.

    python bench/run.py [--runs 5] [--out bench/RESULTS.md]

Prints a table and writes it, with the machine and the date, to bench/RESULTS.md. Each figure is
the median of the runs, with min and max. Prompt sizes are counted as the fake server counts them
(whitespace-separated words of every message), the same for our tool and the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the fake server and the workspace generator live there

from edits import rows as edit_rows  # noqa: E402
from fake_openai import BENCH_CHUNK_CHARS, FakeOpenAIServer, RecordedRequest  # noqa: E402
from prefix import prefix_rows  # noqa: E402
from workspaces import make_workspace  # noqa: E402

# The fake server answers with the model name it was asked for; AutoGen warns about that. Not news.
warnings.filterwarnings("ignore", message="Resolved model mismatch")

CHECKPOINTS = (1, 2, 5, 10, 20)


@dataclass(frozen=True)
class Sizes:
    """How big each measurement is."""

    iterations: int  # the sessions whose prompts and overhead are measured
    memory_iterations: int
    versions: int  # the workspace that status and --resume read


FULL = Sizes(iterations=20, memory_iterations=50, versions=1000)
QUICK = Sizes(iterations=3, memory_iterations=3, versions=100)  # the test that the harness works
FAKE_KEY = "sk-fake-bench-0000000000000000"
PLAN = """# Word counter

## Request
A command-line tool that counts words, lines and characters in text files.

## Main challenges
- Files that do not exist, or are not text.

## Requirements
1. `count_words(text)` returns the number of words.
2. `count_lines(text)` returns the number of lines.
3. `main(argv)` prints the counts for each file named in argv.
4. A missing file gives a one-line error and exit code 2.

Do you approve this plan? Reply "approve", or tell me what to change."""
TESTS = "```python\nimport script\n\n\ndef test_req1():\n    assert script.count_words('a b') == 2\n```"
POINT_TOPICS = [
    "the exit code when a file is missing",
    "reading from standard input when no file is given",
    "counting characters as well as words",
    "a --help text that lists the options",
    "handling a directory given as a file name",
    "non-UTF-8 bytes in the input",
    "very large files read at once",
    "tabs and other white space between words",
    "an empty file",
    "trailing newline counting",
    "the order of the output columns",
    "a total line for several files",
    "symbolic links",
    "files without read permission",
    "argument parsing with argparse",
    "a docstring for main",
    "type hints on the public functions",
    "duplicate file names on the command line",
    "Windows line endings",
    "output alignment for long file names",
    "Unicode words with accents",
    "a --version flag",
    "quiet mode for scripts",
    "numbers formatted with thousands separators",
    "an exit code of 1 when any file fails",
    "globs that match nothing",
]


SCRIPT_HELPERS = 30  # about 110 lines and 450 words: a typical small generated program


def script_for(version: int) -> str:
    """A Coder reply of the same size for every version (only numbers differ)."""
    body = "\n\n".join(
        f"def helper_{i}(text):\n    # step {i} of version {version}\n    return len(text) * {i} + {version}"
        for i in range(SCRIPT_HELPERS)
    )
    return (
        f"```python\nimport sys\n\nVERSION = {version}\n\n\n"
        "def count_words(text):\n    return len(text.split())\n\n\n"
        f"{body}\n\n\ndef main(argv=None):\n    return 0\n\n\n"
        'if __name__ == "__main__":\n    sys.exit(main())\n```'
    )


def review_for(version: int) -> str:
    """A REVISE review whose point differs from every other version's (so the loop never stalls)."""
    topic = POINT_TOPICS[(version - 1) % len(POINT_TOPICS)]
    return json.dumps(
        {
            "verdict": "REVISE",
            "coverage": [
                {"requirement": n, "status": "partly", "evidence": "count_words"} for n in (1, 2, 3, 4)
            ],
            "previous_points": [{"point": 1, "status": "fixed", "evidence": "see main"}]
            if version > 1
            else [],
            "points": [{"category": "robustness", "where": "main", "issue": f"Handle {topic} ({version})."}],
        }
    )


def version_of(request: RecordedRequest) -> int:
    match = re.search(r"(?:Write|Review) version (\d+)", request.text)
    return int(match.group(1)) if match else 1


def script_server(server: FakeOpenAIServer, iterations: int) -> None:
    server.enqueue("planner", PLAN)
    server.enqueue("tester", TESTS)
    server.enqueue("coder", *[lambda r: script_for(version_of(r))] * (iterations + 2))
    server.enqueue("reviewer", *[lambda r: review_for(version_of(r))] * (iterations + 2))


def words(request: RecordedRequest) -> int:
    return len(request.text.split())


def environment(server: FakeOpenAIServer, home: Path) -> dict[str, str]:
    drop = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OAI_CONFIG_LIST", "ITERATIVE_CODER_MODEL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return {**env, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": FAKE_KEY, "HOME": str(home)}


def run_session(
    iterations: int, stream: bool = True, edit_format: str = "whole"
) -> tuple[dict[str, list[int]], float, int]:
    """Our tool, non-interactive, for ``iterations`` versions: prompt sizes by role, overhead per
    iteration (seconds), and the peak RSS (KiB). The Coder is asked for whole files, as the group
    chat's is (the edit format's own figures are bench/edits.py's)."""
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        script_server(server, iterations)
        command = [sys.executable, "-m", "iterative_coder", "--task", "count words", "--yes"]
        command += ["--max-iterations", str(iterations), "--workspace", str(Path(tmp) / "ws")]
        command += ["--edit-format", edit_format] + ([] if stream else ["--no-stream"])
        process = subprocess.Popen(
            command,
            cwd=tmp,
            env=environment(server, Path(tmp)),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr = process.stderr.read().decode() if process.stderr else ""
        if process.returncode != 1:  # the limit, without approval, is the expected end
            raise SystemExit(f"benchmark session failed ({process.returncode}): {stderr[-2000:]}")
        sizes = {role: [words(r) for r in server.requests_for(role)] for role in ("coder", "reviewer")}
        loop = [r for r in server.requests if r.role in ("coder", "reviewer")]
        wall = loop[-1].answered_at - loop[0].received_at
        inside = sum(r.answered_at - r.received_at for r in loop)
        return sizes, (wall - inside) / iterations, usage.ru_maxrss


def baseline(iterations: int) -> dict[str, list[int]]:
    """The same agents in a RoundRobinGroupChat (shared history), fed the same replies."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_agentchat.conditions import MaxMessageTermination
    from autogen_agentchat.teams import RoundRobinGroupChat
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    from iterative_coder.layout import plan_section
    from iterative_coder.plan_text import strip_closing_question
    from iterative_coder.prompt_files import load_prompt, render_prompt

    async def go(server: FakeOpenAIServer) -> None:
        client = OpenAIChatCompletionClient(model="gpt-4o-mini", base_url=server.base_url, api_key=FAKE_KEY)
        agents = [
            AssistantAgent(role, client, system_message=load_prompt(role)) for role in ("coder", "reviewer")
        ]
        team = RoundRobinGroupChat(agents, termination_condition=MaxMessageTermination(2 * iterations + 1))
        # As before issue 27's layout: the roles' instructions are the system messages, the task has the plan.
        plan = plan_section(strip_closing_question(PLAN))
        task = plan + "\n\n" + render_prompt("coder_task", version=1, previous="", feedback="")
        await team.run(task=task)
        await client.close()

    with FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        # The group chat never says "Write version N": serve replies in turn.
        server.enqueue("coder", *[script_for(v) for v in range(1, iterations + 1)])
        server.enqueue("reviewer", *[review_for(v) for v in range(1, iterations + 1)])
        asyncio.run(go(server))
        return {role: [words(r) for r in server.requests_for(role)] for role in ("coder", "reviewer")}


def bare_calls(base_url: str, iterations: int, stream: bool) -> tuple[float, float]:
    """In a child process: two bare AssistantAgent calls per iteration through the OpenAI client.
    Returns the (start, end) of the calls on the monotonic clock, which the server shares."""
    from autogen_agentchat.agents import AssistantAgent
    from autogen_ext.models.openai import OpenAIChatCompletionClient

    from iterative_coder.prompt_files import load_prompt

    async def go() -> tuple[float, float]:
        options = {"stream_options": {"include_usage": True}} if stream else {}
        client = OpenAIChatCompletionClient(
            model="gpt-4o-mini", base_url=base_url, api_key=FAKE_KEY, **options
        )
        await AssistantAgent("coder", client, system_message=load_prompt("coder")).run(task="warm up")
        started = time.monotonic()
        for version in range(1, iterations + 1):
            for role in ("coder", "reviewer"):
                agent = AssistantAgent(
                    role, client, system_message=load_prompt(role), model_client_stream=stream
                )
                await agent.run(task=f"Write version {version}: " + PLAN)
        ended = time.monotonic()
        await client.close()
        return started, ended

    return asyncio.run(go())


def library_floor(iterations: int, stream: bool, own_process: bool = True) -> float:
    """Seconds per iteration that two bare AssistantAgent calls through the OpenAI client take beyond
    the server's time: the part of the overhead that is AutoGen's and the OpenAI library's. The calls
    run in their own process, as the tool does, so they do not share the server's interpreter (with
    ``own_process`` False, for --quick, in this one: a check that it works, not a measurement)."""
    with FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        script_server(server, iterations)
        server.enqueue("coder", "warm")
        if own_process:
            command = [sys.executable, __file__, "--bare-calls", server.base_url, str(iterations)]
            command.append(str(int(stream)))
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            started, ended = json.loads(done.stdout)
        else:
            started, ended = bare_calls(server.base_url, iterations, stream)
        inside = sum(r.answered_at - r.received_at for r in server.requests if r.received_at >= started)
        return (ended - started - inside) / iterations


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    return time.perf_counter() - started


def until_prompt(args: list[str], text: str, env: dict[str, str], cwd: Path) -> float:
    """Seconds from launch until ``text`` shows in a pseudo-terminal."""
    from terminal_process import TerminalProcess

    started = time.perf_counter()
    child = TerminalProcess(
        [sys.executable, "-m", "iterative_coder", *args], cwd=cwd, env=env, timeout=30, size=(50, 200)
    )
    child.expect_exact(text)
    elapsed = time.perf_counter() - started
    child.stop()
    return elapsed


def startup(runs: int, versions: int = 1000) -> dict[str, list[float]]:
    python = [sys.executable, "-m", "iterative_coder"]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer(BENCH_CHUNK_CHARS) as server:
        root = Path(tmp)
        env = environment(server, root)
        big = make_workspace(root / "big", versions, last_verdict="REVISE")
        status, resume = (
            f"status ({versions:,} versions)",
            f"--resume ({versions:,} versions) to Manager prompt",
        )
        results: dict[str, list[float]] = {"--help": [], "--version": [], status: []}
        results["new session to first prompt"] = []
        results[resume] = []
        for _ in range(runs):
            results["--help"].append(timed([*python, "--help"], env, root))
            results["--version"].append(timed([*python, "--version"], env, root))
            results[status].append(timed([*python, "status", str(big)], env, root))
            fresh = root / f"new-{len(results['--help'])}"
            results["new session to first prompt"].append(
                until_prompt(["--workspace", str(fresh)], "What python creation would you like?", env, root)
            )
            results[resume].append(
                until_prompt(
                    ["--resume", str(big), "--execute", "never", "--max-iterations", str(versions + 10)],
                    f"Your turn on version {versions}",
                    env,
                    root,
                )
            )
        return results


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"


def spread(values: list[float], fmt: Callable[[float], str]) -> tuple[str, str, str]:
    return fmt(statistics.median(values)), fmt(min(values)), fmt(max(values))


EXPLANATION = """\
How to read it:

- Prompt sizes are words, as the fake server counts them (whitespace-separated words of every
  message), for the same scripted replies: our tool (files as memory, a fresh context per call)
  against the same AssistantAgents in a RoundRobinGroupChat (shared history). Each version's script
  is about 110 lines (30 small functions), and each revision changes one function. The ratio to the
  group chat grows with the script's size relative to the fixed part of our prompts (system prompt,
  plan, tests): with 12 functions (about 50 lines) it was 4.0x at iteration 10 and 7.9x at 20.
  Both sides' Coder writes whole files (`--edit-format whole` here): with `auto`, a script this long
  is revised by edit blocks, and the edit rules add a fixed block of about 330 words to each Coder
  prompt from version 2 on (it does not grow; the edits rows below have its figures).
- The overhead is the wall time of 20 iterations, from the first Coder request to the last Reviewer
  reply, minus the time the fake server spent answering, per iteration (non-interactive, plain
  output to a pipe). It is split into what two bare AssistantAgent calls through the OpenAI client
  cost by themselves (AutoGen and the OpenAI library) and the rest (this tool: agents built per call,
  retries layer, files written and flushed to disk, extraction, review parsing, progress checks,
  screen output). With streaming, the fake server sends 16-character chunks, so the OpenAI library's
  per-chunk parsing dominates; a real model streams over seconds and that work overlaps the wait.
- Start-up is from launch to exit (`--help`, `--version`, `status`) or to the prompt in a
  pseudo-terminal. Memory is the tool's peak RSS (ru_maxrss of the process).

The overhead target (10 ms per iteration) is missed. Profiling (cProfile of a 20-iteration run)
found and removed, in this tool: `session.json` written with Python's slow indenting JSON encoder
and forced to disk after every call (now one line per call, written atomically but not fsynced,
since it can be rebuilt from the files), the progress check tokenizing both scripts and the diff
summary running difflib over the whole script (now a cheap comparison first, and a line multiset),
each script parsed five times (now once, cached), and a `resolve()` per file name (now once per
workspace). That took this tool's share from about 20 ms to about 9 ms per iteration (two model
calls, four files written, two of them fsynced). Issues 14-16 added about 4 ms back: every Coder reply
is now also read as possible SEARCH/REPLACE blocks, the Coder's call record is saved a second time
with how it answered, and each response's usage is read for cached tokens; session.json's call lines
are now serialized once each, and the workspace listing takes no stat per file. What remains is not
ours: two bare AssistantAgent calls through the OpenAI client cost 4 ms per iteration without
streaming and about 30 ms with the fake server's 16-character chunks (about 0.2 ms per chunk in the
OpenAI library and AgentChat).

Prompt caches (`bench/prefix.py`): one unattended 10-iteration session for the brief's own request,
an analog clock in a tkinter window, with a plan and tests of the size real models write (about
2,700 and 2,600 characters). A prompt is every message's content in order, as the server received
it, which is what a provider's prefix cache sees. Since issue 27 every role's prompt has one layout:
a preamble common to all roles (the system message), the plan and the acceptance tests, the script
under work and its run, and only then the role's instructions, the review, the feedback and the
version line. The stable part is the preamble, the plan and the acceptance tests; every Coder and
Reviewer call from the second on must repeat it byte for byte from the start (target: all of them).
The share found in any earlier request is what OpenAI's cache serves: the Coder of version N+1 finds
the plan, the tests, script N and run N in the Reviewer's prompt for version N (target: 60% or more;
before the layout the Coder found its own previous prompt's instructions, plan and tests, 56% here
and 44% on the peer work below). In this session the script's first lines change every version
(`VERSION = N`), so the Reviewer finds only the stable part, and its instructions, once at the start
of its prompt, now come after the script: here the input of calls 2-10 costs more with caching than
before the layout (0.0544 USD against 0.0437); on the peer work below the layout is about even and
the compact reviews save the rest. The cost rows model OpenAI's rule (a prompt of 1,024 tokens or
more has its longest prefix seen in any earlier request served from the cache in steps of 128
tokens; tokens = characters / 4) at gpt-4.1's list prices (cached input at a quarter of the input
price).

Against Aider (`bench/peer/`, issue 27): the section at the end is `bench/peer/RESULTS.md`, measured
apart (it needs Aider installed) by `bench/peer/measure.py` and `bench/peer/cost.py --detail`, and
appended here by `bench/run.py`.

Revisions as edits (`bench/edits.py`): version 2 of a generated program of about 50, 150 and 400
lines written by the tool itself, in-process, through the real OpenAI client, from a fake-server
reply: the same one-function fix sent as the whole file or as one SEARCH/REPLACE block quoting the
whole function (9 lines in SEARCH, 11 in REPLACE), with a sentence before and after as real replies
have. Every run checks that the written `script_v2.py` is the expected file. Tokens are the reply's
characters / 4. The wall time is an iteration (the Coder's reply, then the Reviewer's) with the fake
server streaming at 60 tokens a second. `--edit-format auto` asks for edits above 60 lines: a
one-function fix as a block costs half the output of the whole file at about 57 lines, and at half or
less edits cost no more than the whole file even if half of all edit replies fail once (another try)
and a quarter twice (then the whole file as well). Line numbers on the previous script are not shown:
they would add about 600 prompt tokens at 400 lines, no benefit can be measured without a real model,
and models copy such numbers into SEARCH blocks, which then match nothing.
"""


def main() -> None:
    if sys.argv[1:2] == ["--bare-calls"]:  # the child process of library_floor
        print(json.dumps(bare_calls(sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1")))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes (3 iterations, 100 versions): a check that it works",
    )
    options = parser.parse_args()
    runs = max(1, options.runs)
    size = QUICK if options.quick else FULL
    started = time.perf_counter()

    last = size.iterations
    print(f"context growth and overhead: {runs} sessions of {last} iterations ...", flush=True)
    sessions = [run_session(last) for _ in range(runs)]
    print(f"overhead without streaming: {runs} sessions of {last} iterations ...", flush=True)
    plain_sessions = [run_session(last, stream=False) for _ in range(runs)]
    print(f"AutoGen + OpenAI client floor: {runs} runs ...", flush=True)
    floors = {
        stream: [library_floor(last, stream, own_process=not options.quick) for _ in range(runs)]
        for stream in (False, True)
    }
    print(f"baseline group chat: {runs} runs ...", flush=True)
    baselines = [baseline(last) for _ in range(runs)]
    if size.memory_iterations == last:  # the sessions above were as long: their peak RSS
        memory = [session[2] / 1024 for session in sessions]
    else:
        print(f"memory: {runs} sessions of {size.memory_iterations} iterations ...", flush=True)
        memory = [run_session(size.memory_iterations)[2] / 1024 for _ in range(runs)]
    print(f"start-up: {runs} runs of each ...", flush=True)
    launch = startup(runs, size.versions)
    prefix_iterations = 3 if options.quick else 10
    print(f"prompt-cache prefixes: one session of {prefix_iterations} iterations ...", flush=True)
    prefix = prefix_rows(prefix_iterations)
    print("revisions as edits against whole files (bench/edits.py) ...", flush=True)
    edit_figures = edit_rows(options.quick)

    rows: list[tuple[str, str, str, str, str, str]] = []  # figure, target, median, min, max, met

    def add(
        figure: str, target: str, values: list[float], fmt: Callable[[float], str], ok: bool | None
    ) -> None:
        rows.append((figure, target, *spread(values, fmt), {True: "yes", False: "NO", None: ""}[ok]))

    tokens = lambda v: f"{v:,.0f}"  # noqa: E731
    for role in ("coder", "reviewer"):
        for n in [n for n in CHECKPOINTS if n <= last]:
            ours = [s[0][role][n - 1] for s in sessions]
            theirs = [b[role][n - 1] for b in baselines]
            add(f"{role} prompt at iteration {n}, ours", "", ours, tokens, None)
            add(f"{role} prompt at iteration {n}, group chat", "", theirs, tokens, None)
        growth = [s[0][role][last - 1] / s[0][role][1] for s in sessions]
        add(
            f"{role} prompt: iteration {last} / iteration 2, ours",
            "<= 1.25",
            growth,
            lambda v: f"{v:.2f}",
            max(growth) <= 1.25,
        )
        for n in sorted({min(10, last), last}):
            ratio = [b[role][n - 1] / s[0][role][n - 1] for s, b in zip(sessions, baselines, strict=True)]
            target = ">= 5" if n == 10 else ""
            add(
                f"{role} prompt: group chat / ours at iteration {n}",
                target,
                ratio,
                lambda v: f"{v:.1f}x",
                min(ratio) >= 5 if n == 10 else None,
            )
    ms = lambda v: f"{v:.1f}"  # noqa: E731
    for label, group, stream in (("no streaming", plain_sessions, False), ("streaming", sessions, True)):
        overhead = [s[1] * 1000 for s in group]
        floor = [f * 1000 for f in floors[stream]]
        add(
            f"orchestration overhead per iteration, {label} (ms)",
            "<= 10",
            overhead,
            ms,
            statistics.median(overhead) <= 10,
        )
        add(
            f"- of which 2 bare AssistantAgent calls (AutoGen + OpenAI client), {label} (ms)",
            "",
            floor,
            ms,
            None,
        )
        ours = [o - f for o, f in zip(overhead, floor, strict=True)]
        add(f"- of which the rest, this tool, {label} (ms)", "", ours, ms, None)
    limits = {"--help": 0.150, "--version": 0.150, f"status ({size.versions:,} versions)": 0.300}
    limits[f"--resume ({size.versions:,} versions) to Manager prompt"] = 1.0
    for figure, values in launch.items():
        limit = limits.get(figure)
        target = f"<= {limit * 1000:.0f}" if limit else ""
        add(
            f"{figure} (ms)",
            target,
            [v * 1000 for v in values],
            lambda v: f"{v:.0f}",
            statistics.median(values) <= limit if limit else None,
        )
    add(
        f"peak RSS, {size.memory_iterations}-iteration run (MB)",
        "<= 150",
        memory,
        lambda v: f"{v:.0f}",
        statistics.median(memory) <= 150,
    )
    rows.extend(prefix)
    rows.extend(edit_figures)

    header = ("figure", "target", "median", "min", "max", "met")
    table = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    table += ["| " + " | ".join(row) + " |" for row in rows]
    took = time.perf_counter() - started
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            f"Measured {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}, "
            f"{runs} runs per figure, in {took:.0f} s, by `python bench/run.py`.",
            "",
            EXPLANATION,
            "",
            *table,
            "",
        ]
    )
    peer = ROOT / "bench" / "peer" / "RESULTS.md"  # measured apart: it needs Aider
    if peer.exists():
        text += "\n" + peer.read_text(encoding="utf-8")
    options.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
