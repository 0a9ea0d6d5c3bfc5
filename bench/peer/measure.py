#!/usr/bin/env python3
"""Token spend of iterative_coder and Aider on the same work, against fake_openai.py.

    python3 measure.py --ic-python PATH/TO/venv/bin/python --aider PATH/TO/venv/bin/aider \
        [--formats diff,whole] [--out DIR] [--only ic|aider]

Writes the scenarios to scenarios/ beside this file, runs each tool against its own fake server
(127.0.0.1 only), drives Aider in ONE interactive session inside a private tmux server
(``tmux -L peer-<pid>``), checks that every tool ends with the same final program, and prints the
tables (also written to OUT/RESULTS.md). See README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HARNESS = HERE  # the fake server sits beside this file
FAKE = HARNESS / "fake_openai.py"
SCEN_DIR = HERE / "scenarios"
sys.path.insert(0, str(HERE))

import work  # noqa: E402

# A role's instructions open with "You are the X of iterative_coder": in the system message before
# issue 27, at the start of a line of the task since (the system message is common to all roles).
IC_RULES = [[role, rf"(?m)^You are the {role.capitalize()} of iterative_coder"]
            for role in ("planner", "tester", "coder", "reviewer")]
AIDER_RULES = [["summarizer", r"summarize this partial conversation"],
               ["commit", r"one-line Git commit messages"],
               ["main", r"^Act as an expert software developer"]]
SUMMARY = ("I asked you to create script.py, an inventory CLI over a CSV file, and then to fix its "
           "functions one at a time (parse_qty, parse_price, normalize_sku, sell, format_price, "
           "search, low_stock, load_items, category_report, main); you sent SEARCH/REPLACE blocks "
           "for script.py each time.\n")
AIDER_FLAGS = ["--no-git", "--yes-always", "--no-check-update", "--no-show-model-warnings",
               "--no-analytics", "--no-show-release-notes", "--map-tokens", "0",
               "--no-auto-lint", "--no-auto-test", "--no-detect-urls", "--no-notifications",
               "--model", "openai/gpt-4o", "--openai-api-key", "sk-test"]
N_REV = len(work.REVISIONS)
DEAD_PROXY = "http://127.0.0.1:9"      # any stray HTTP(S) from a tool goes nowhere


def tok(chars: int) -> int:
    return math.ceil(chars / 4)


# ------------------------------------------------------------------------------ scenarios
REVIEWERS = {"full": work.ic_reviewer, "compact": work.ic_reviewer_compact}


def scenarios(review_format: str = "compact") -> dict[str, dict]:
    reviewer = REVIEWERS[review_format]
    ic = {"rules": IC_RULES, "replies": {
        "planner": [work.ic_planner()], "tester": [work.ic_tester()],
        "coder": [work.ic_coder(k) for k in range(1, N_REV + 2)],
        "reviewer": [reviewer(k) for k in range(1, N_REV + 2)],
        "other": ["OK"]}}
    out = {"ic": ic}
    for fmt in ("diff", "whole"):
        out[f"aider_{fmt}"] = {"rules": AIDER_RULES, "replies": {
            "main": [work.aider_main(k, fmt=fmt) for k in range(N_REV + 1)],
            "summarizer": [SUMMARY], "commit": ["fix: update script.py"], "other": ["OK"]}}
    return out


def write_scenarios(review_format: str = "compact") -> dict[str, Path]:
    SCEN_DIR.mkdir(exist_ok=True)
    paths = {}
    for name, sc in scenarios(review_format).items():
        p = SCEN_DIR / f"{name}.json"
        p.write_text(json.dumps(sc, indent=1) + "\n", encoding="utf-8")
        paths[name] = p
    (SCEN_DIR / "aider_requests.json").write_text(
        json.dumps([work.aider_request(k) for k in range(N_REV + 1)], indent=1) + "\n")
    return paths


# ---------------------------------------------------------------------------- fake server
class Fake:
    def __init__(self, scenario: Path, folder: Path):
        self.log = folder / "requests.jsonl"
        port_file = folder / "port"
        self.proc = subprocess.Popen([sys.executable, str(FAKE), "--port", "0", "--port-file",
                                      str(port_file), "--log", str(self.log), "--scenario",
                                      str(scenario)], stderr=subprocess.DEVNULL)
        for _ in range(200):
            if port_file.exists():
                break
            time.sleep(0.05)
        self.port = int(port_file.read_text())
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def entries(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()
                if line.strip()]

    def stop(self) -> None:
        self.proc.terminate()             # by PID: the server this script started
        self.proc.wait(10)


def net_env(base: dict) -> dict:
    env = dict(base)
    for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        env[k] = DEAD_PROXY
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


# ------------------------------------------------------------------------- iterative_coder
def run_ic(ic_python: str, folder: Path, execute: str) -> dict:
    folder.mkdir(parents=True)
    fake = Fake(SCEN_DIR / "ic.json", folder)
    env = net_env({k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "OAI_"))})
    env.update(OPENAI_BASE_URL=fake.url, OPENAI_API_KEY="sk-test",
               ITERATIVE_CODER_LOCAL_PORTS="none", PYTHONDONTWRITEBYTECODE="1")
    cmd = [ic_python, "-m", "iterative_coder", "--workspace", "ws", "--task", work.TASK, "--yes",
           "--execute", execute, "--edit-format", "diff", "--max-iterations", str(N_REV + 1),
           "--model", "gpt-4o", "--json"]
    t0 = time.time()
    try:
        res = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True,
                             timeout=900, stdin=subprocess.DEVNULL)
    finally:
        fake.stop()
    (folder / "stdout.json").write_text(res.stdout)
    (folder / "stderr.txt").write_text(res.stderr)
    status = subprocess.run([ic_python, "-m", "iterative_coder", "status", "ws", "--json"],
                            cwd=folder, env=env, capture_output=True, text=True, timeout=120)
    (folder / "status.json").write_text(status.stdout)
    final = folder / "ws" / f"script_v{N_REV + 1}.py"
    version = subprocess.run([ic_python, "-m", "iterative_coder", "--version"], cwd=folder,
                             env=env, capture_output=True, text=True).stdout.strip()
    return {"tool": "iterative_coder", "cmd": ["python", *cmd[1:]], "rc": res.returncode,
            "version": version,
            "seconds": round(time.time() - t0, 1), "entries": fake.entries(),
            "final": final.read_bytes() if final.exists() else b"",
            "status": status.stdout}


# ---------------------------------------------------------------------------------- Aider
class Tmux:
    def __init__(self):
        self.sock = f"peer-{os.getpid()}"

    def tmux(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["tmux", "-L", self.sock, *args], capture_output=True, text=True,
                              check=check).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "aider", check=False)

    def prompt_ready(self) -> bool:
        lines = [ln.rstrip() for ln in self.screen().splitlines() if ln.strip()]
        return bool(lines) and re.fullmatch(r"[\w-]*>", lines[-1].strip()) is not None

    def wait(self, cond, what: str, timeout: float = 120) -> None:
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            time.sleep(0.2)
        raise TimeoutError(f"waiting for {what}; screen:\n{self.screen()}")


def litellm_cost_map(aider: str) -> Path | None:
    py = Path(aider).parent / "python"
    out = subprocess.run([str(py), "-c", "import importlib.util as u; "
                          "print(u.find_spec('litellm').submodule_search_locations[0])"],
                         capture_output=True, text=True)
    p = Path(out.stdout.strip()) / "model_prices_and_context_window_backup.json"
    return p if p.exists() else None


def run_aider(aider: str, folder: Path, fmt: str) -> dict:
    folder.mkdir(parents=True)
    home = folder / "home"
    cache = home / ".aider" / "caches"
    cache.mkdir(parents=True)
    src = litellm_cost_map(aider)       # a fresh local copy: Aider then downloads no model list
    if src:
        shutil.copy(src, cache / "model_prices_and_context_window.json")
    work_dir = folder / "work"
    work_dir.mkdir()
    (work_dir / "script.py").write_text("")
    fake = Fake(SCEN_DIR / f"aider_{fmt}.json", folder)
    flags = AIDER_FLAGS + ["--edit-format", fmt, "--openai-api-base", fake.url]
    env = net_env({k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "AIDER_"))})
    env.update(HOME=str(home), LITELLM_LOCAL_MODEL_COST_MAP="True", TERM="xterm-256color")
    runner = folder / "run_aider.sh"
    runner.write_text("#!/bin/sh\n" + " ".join(_q(a) for a in [aider, *flags, "script.py"])
                      + f"\necho AIDER_EXIT=$? > {_q(str(folder / 'exit'))}\nsleep 600\n")
    vs = work.versions()
    t = Tmux()
    t0 = time.time()
    try:
        # The first new-session starts the private server with ``env`` (HOME, the dead proxy).
        subprocess.run(["tmux", "-L", t.sock, "new-session", "-d", "-s", "aider", "-x", "200",
                        "-y", "50", "-c", str(work_dir), f"sh {_q(str(runner))}"],
                       env=env, check=True)
        t.wait(t.prompt_ready, "Aider's first prompt", 120)
        for k in range(N_REV + 1):
            t.tmux("send-keys", "-t", "aider", "-l", work.aider_request(k))
            t.tmux("send-keys", "-t", "aider", "Enter")
            mains = lambda: sum(e["role"] == "main" for e in fake.entries())  # noqa: E731
            t.wait(lambda: mains() >= k + 1, f"main call {k + 1}")
            t.wait(lambda: (work_dir / "script.py").read_text() == vs[k] and t.prompt_ready(),
                   f"turn {k}: script.py == version {k + 1} and the prompt", 60)
            (folder / f"screen_{k:02d}.txt").write_text(t.screen())
        n = -1
        while n != len(fake.entries()):  # let a background summary finish before /exit
            n = len(fake.entries())
            time.sleep(3)
        t.tmux("send-keys", "-t", "aider", "-l", "/exit")
        t.tmux("send-keys", "-t", "aider", "Enter")
        t.wait(lambda: (folder / "exit").exists(), "Aider to exit", 60)
    finally:
        (folder / "screen_last.txt").write_text(t.screen())
        sock = t.tmux("display-message", "-p", "#{socket_path}", check=False).strip()
        t.tmux("kill-session", "-t", "aider", check=False)
        t.tmux("kill-server", check=False)      # the private server of this run only
        if sock.endswith(t.sock):
            Path(sock).unlink(missing_ok=True)
        fake.stop()
    version = subprocess.run([aider, "--version"], capture_output=True, text=True,
                             env=env).stdout.strip()
    return {"tool": f"Aider ({fmt})", "fmt": fmt, "cmd": ["aider", *flags[:-1], "URL", "script.py"],
            "version": version, "seconds": round(time.time() - t0, 1),
            "entries": fake.entries(), "final": (work_dir / "script.py").read_bytes(),
            "exit": (folder / "exit").read_text().strip() if (folder / "exit").exists() else "?"}


def _text(content) -> str:
    if isinstance(content, list):
        return "".join(p.get("text") or "" for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def _q(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


# -------------------------------------------------------------------------------- analysis
def calls(entries: list[dict]) -> list[dict]:
    out = []
    for e in entries:
        reply = e.get("reply") or ""
        out.append({"role": e["role"], "call": e["call"], "in": e["prompt_tokens_est"],
                    "in_chars": e["prompt_chars"], "out": tok(len(reply)),
                    "n_messages": e["n_messages"], "time": e["time"], "status": e["status"]})
    return out


def by_role(cs: list[dict]) -> dict[str, dict]:
    roles: dict[str, dict] = {}
    for c in cs:
        r = roles.setdefault(c["role"], {"calls": 0, "in": 0, "out": 0})
        r["calls"] += 1
        r["in"] += c["in"]
        r["out"] += c["out"]
    return roles


def ic_revisions(cs: list[dict]) -> list[dict]:
    """Revision k (1..10): the Coder's call for version k+1 and the Reviewer's call on it."""
    coder = [c for c in cs if c["role"] == "coder"]
    rev = [c for c in cs if c["role"] == "reviewer"]
    rows = []
    for k in range(1, N_REV + 1):
        c, r = coder[k], rev[k]
        rows.append({"k": k, "coder_in": c["in"], "coder_out": c["out"], "reviewer_in": r["in"],
                     "reviewer_out": r["out"]})
    return rows


def aider_turns(cs: list[dict]) -> list[dict]:
    """Turn t (0 = create, 1..10 = revisions): its main call and any other call after it."""
    turns: list[dict] = []
    for c in cs:
        if c["role"] == "main":
            turns.append({"k": len(turns), "main_in": c["in"], "main_out": c["out"],
                          "main_msgs": c["n_messages"], "extra_in": 0, "extra_out": 0,
                          "extra": []})
        elif turns:
            turns[-1]["extra_in"] += c["in"]
            turns[-1]["extra_out"] += c["out"]
            turns[-1]["extra"].append(c["role"])
    return turns


def report(results: list[dict]) -> str:
    lines = ["# iterative_coder vs Aider: tokens on the same work", "",
             f"Measured {time.strftime('%Y-%m-%d %H:%M')} by `measure.py`; tokens are the fake "
             "server's estimate, characters / 4 (`prompt_tokens_est`; output: reply chars / 4).",
             f"The work: write a {len(work.V1.splitlines())}-line inventory CLI "
             f"({work.V1.count(chr(10) + 'def ')} functions), then {N_REV} revisions of one "
             "function each.", ""]
    expected = work.versions()[-1].encode()
    for res in results:
        cs = calls(res["entries"])
        roles = by_role(cs)
        lines += [f"## {res['tool']}", ""]
        if res.get("version"):
            lines += [f"Version: `{res['version']}`", ""]
        lines += ["Command: `" + " ".join(_q(a) if " " in a else a for a in res["cmd"]) + "`", ""]
        ok = res["final"] == expected
        lines += [f"Final program: {len(res['final'])} bytes, sha256 "
                  f"{hashlib.sha256(res['final']).hexdigest()[:16]}, "
                  f"{'byte-identical to' if ok else 'DIFFERENT FROM'} the expected version "
                  f"{N_REV + 1}. Wall time {res['seconds']} s.", ""]
        lines += ["| call kind | calls | input tokens | output tokens |", "|---|---:|---:|---:|"]
        for role, r in sorted(roles.items(), key=lambda kv: -kv[1]["in"]):
            lines.append(f"| {role} | {r['calls']} | {r['in']:,} | {r['out']:,} |")
        tin, tout = sum(r["in"] for r in roles.values()), sum(r["out"] for r in roles.values())
        lines += [f"| **total** | {len(cs)} | {tin:,} | {tout:,} |", ""]
        if res["tool"] == "iterative_coder":
            rows = ic_revisions(cs)
            first = [c for c in cs if c["role"] in ("planner", "tester")] + \
                [next(c for c in cs if c["role"] == role) for role in ("coder", "reviewer")]
            lines += [f"Before revision 1 (planner, tester, coder v1, reviewer v1): "
                      f"{sum(c['in'] for c in first):,} input, "
                      f"{sum(c['out'] for c in first):,} output tokens.", "",
                      "| revision k | coder in (v k+1) | coder out | reviewer in (v k+1) "
                      "| reviewer out |", "|---:|---:|---:|---:|---:|"]
            for r in rows:
                lines.append(f"| {r['k']} | {r['coder_in']:,} | {r['coder_out']:,} | "
                             f"{r['reviewer_in']:,} | {r['reviewer_out']:,} |")
            sums = {key: sum(r[key] for r in rows) for key in rows[0] if key != "k"}
            lines.append(f"| **1-10** | {sums['coder_in']:,} | {sums['coder_out']:,} | "
                         f"{sums['reviewer_in']:,} | {sums['reviewer_out']:,} |")
            res["summary"] = {"roles": roles, "total_in": tin, "total_out": tout,
                              "rev_coder_in": sums["coder_in"], "rev_coder_out": sums["coder_out"],
                              "rev_all_in": sums["coder_in"] + sums["reviewer_in"],
                              "rev_all_out": sums["coder_out"] + sums["reviewer_out"],
                              "r1": rows[0]["coder_in"], "r10": rows[-1]["coder_in"],
                              "r1_all": rows[0]["coder_in"] + rows[0]["reviewer_in"],
                              "r10_all": rows[-1]["coder_in"] + rows[-1]["reviewer_in"]}
        else:
            turns = aider_turns(cs)
            lines += ["| turn | main in | messages | main out | other calls (in/out) |",
                      "|---:|---:|---:|---:|---|"]
            for t in turns:
                extra = (f"{', '.join(t['extra'])}: {t['extra_in']:,}/{t['extra_out']:,}"
                         if t["extra"] else "")
                label = "0 (create)" if t["k"] == 0 else str(t["k"])
                lines.append(f"| {label} | {t['main_in']:,} | {t['main_msgs']} | "
                             f"{t['main_out']:,} | {extra} |")
            revs = turns[1:]
            mi = sum(t["main_in"] for t in revs)
            mo = sum(t["main_out"] for t in revs)
            ei = sum(t["extra_in"] for t in revs)
            eo = sum(t["extra_out"] for t in revs)
            lines.append(f"| **1-10** | {mi:,} | | {mo:,} | {ei:,}/{eo:,} |")
            if "summarizer" in roles:
                used = any(SUMMARY.strip() in _text(m.get("content"))
                           for e in res["entries"] if e["role"] == "main" for m in e["messages"])
                lines += ["", f"Summaries of the chat history: {roles['summarizer']['calls']} "
                          f"calls; a summary {'was' if used else 'was never'} sent in a later "
                          "main prompt."]
            res["summary"] = {"roles": roles, "total_in": tin, "total_out": tout,
                              "rev_coder_in": mi, "rev_coder_out": mo, "rev_all_in": mi + ei,
                              "rev_all_out": mo + eo, "r1": revs[0]["main_in"],
                              "r10": revs[-1]["main_in"],
                              "r1_all": revs[0]["main_in"] + revs[0]["extra_in"],
                              "r10_all": revs[-1]["main_in"] + revs[-1]["extra_in"]}
        lines.append("")
    lines += ["## Side by side", "",
              "| | " + " | ".join(r["tool"] for r in results) + " |",
              "|---|" + "---:|" * len(results)]

    def row(label, fn):
        lines.append(f"| {label} | " + " | ".join(fn(r["summary"]) for r in results) + " |")

    row("all calls: input tokens", lambda s: f"{s['total_in']:,}")
    row("all calls: output tokens", lambda s: f"{s['total_out']:,}")
    row("revisions 1-10, coder / main only: input", lambda s: f"{s['rev_coder_in']:,}")
    row("revisions 1-10, coder / main only: output", lambda s: f"{s['rev_coder_out']:,}")
    row("revisions 1-10, all calls: input", lambda s: f"{s['rev_all_in']:,}")
    row("revisions 1-10, all calls: output", lambda s: f"{s['rev_all_out']:,}")
    row("coder / main input, revision 1 -> 10",
        lambda s: f"{s['r1']:,} -> {s['r10']:,} (x{s['r10'] / s['r1']:.2f})")
    row("all calls input, revision 1 -> 10",
        lambda s: f"{s['r1_all']:,} -> {s['r10_all']:,} (x{s['r10_all'] / s['r1_all']:.2f})")
    ic = next((r for r in results if r["tool"] == "iterative_coder"), None)
    if ic:
        extra = {k: v for k, v in ic["summary"]["roles"].items() if k in ("planner", "tester",
                                                                          "reviewer")}
        ei = sum(v["in"] for v in extra.values())
        eo = sum(v["out"] for v in extra.values())
        lines += ["", f"iterative_coder's roles that Aider does not have (planner, tester, "
                  f"reviewer): {sum(v['calls'] for v in extra.values())} calls, {ei:,} input and "
                  f"{eo:,} output tokens, {100 * ei / ic['summary']['total_in']:.0f}% of its "
                  "input."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ic-python", default=os.environ.get("IC_PYTHON", sys.executable),
                    help="a python with iterative_coder installed")
    ap.add_argument("--aider", default=os.environ.get("AIDER") or shutil.which("aider"))
    ap.add_argument("--formats", default="diff,whole", help="Aider edit formats to run")
    ap.add_argument("--execute", default="always", choices=["always", "never"])
    ap.add_argument("--only", choices=["ic", "aider"])
    ap.add_argument("--review-format", default="compact", choices=sorted(REVIEWERS),
                    help="how the scripted Reviewer writes (full: every coverage row and previous point)")
    ap.add_argument("--out", help="a new folder for logs and workspaces (default: a temp one)")
    args = ap.parse_args(argv)
    write_scenarios(args.review_format)
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="peer-"))
    out.mkdir(parents=True, exist_ok=True)
    results = []
    if args.only in (None, "ic"):
        results.append(run_ic(args.ic_python, out / "ic", args.execute))
        print(f"iterative_coder: rc={results[-1]['rc']} in {results[-1]['seconds']} s",
              file=sys.stderr)
    if args.only in (None, "aider"):
        for fmt in [f for f in args.formats.split(",") if f]:
            results.append(run_aider(args.aider, out / f"aider_{fmt}", fmt))
            print(f"{results[-1]['tool']}: {results[-1]['exit']} in {results[-1]['seconds']} s",
                  file=sys.stderr)
    text = report(results)
    (out / "RESULTS.md").write_text(text)
    (out / "summary.json").write_text(json.dumps(
        [{k: v for k, v in r.items() if k not in ("entries", "final", "status")} for r in results],
        indent=1, default=str))
    print(text)
    print(f"logs: {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
