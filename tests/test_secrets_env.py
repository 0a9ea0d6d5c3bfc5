"""The model key leaves the tool's /proc/<pid>/environ, where a program it starts could read it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.timeout(30),
    pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="needs Linux /proc"),
]

REPO = Path(__file__).resolve().parents[1]
KEY = "sk-fake-environ-key-5Hq2Lw8Zx"

# A child of the tool, reading its parent's /proc files as a hostile program would.
READER = """
import json, os, sys
seen = {}
for name in ("environ", "mem"):
    try:
        with open(f"/proc/{os.getppid()}/{name}", "rb") as handle:
            seen[name] = sys.argv[1].encode() in handle.read() if name == "environ" else "opened"
    except OSError as error:
        seen[name] = type(error).__name__
print(json.dumps(seen))
"""

# The tool: it reads its parent's view before and after, and reports what it holds.
TOOL = """
import json, os, subprocess, sys
from iterative_coder import secrets_env

def child(prefix=()):
    done = subprocess.run([*prefix, sys.executable, "-c", READER, KEY], capture_output=True, text=True)
    return json.loads(done.stdout)

result = {"before": child()}
result["moved"] = secrets_env.move_secrets_out_of_environ()
result["after"] = child()
result["names"] = secrets_env.initial_environ_names()
result["in os.environ"] = "OPENAI_API_KEY" in os.environ
inherit = "import os; print(os.environ.get('OPENAI_API_KEY'))"
result["inherited"] = subprocess.run([sys.executable, "-c", inherit], capture_output=True, text=True).stdout
if sys.argv[1:] == ["private"]:
    result["private"] = secrets_env.make_memory_private()
    # Run by root, the reader must not have CAP_SYS_PTRACE, or nothing can stop it.
    prefix = ["setpriv", "--inh-caps=-all", "--bounding-set=-all"] if os.getuid() == 0 else []
    result["after private"] = child(prefix)
print(json.dumps(result))
"""


def run_tool(*args: str) -> dict:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "OPENAI_API_KEY": KEY,
        "AZURE_OPENAI_API_KEY": "azure=with=equals",
        "KEEP_ME": "visible",
    }
    code = f"READER = {READER!r}\nKEY = {KEY!r}\n{TOOL}"
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_child_no_longer_finds_the_key_in_the_tools_environ() -> None:
    result = run_tool()
    assert result["before"]["environ"] is True  # without the move, the program could read the key
    assert result["after"]["environ"] is False
    assert result["moved"] == {"OPENAI_API_KEY": KEY, "AZURE_OPENAI_API_KEY": "azure=with=equals"}
    assert "KEEP_ME" in result["names"] and "PATH" in result["names"]  # the rest stays as it was
    assert "OPENAI_API_KEY" not in result["names"] and not result["in os.environ"]
    assert result["inherited"] == "None\n"  # programs started later do not inherit it either


@pytest.mark.skipif(os.getuid() == 0 and shutil.which("setpriv") is None, reason="root needs setpriv")
def test_private_memory_closes_environ_and_mem_to_a_same_user_child() -> None:
    result = run_tool("private")
    assert result["after"]["mem"] == "opened"  # environ is clean, but memory (with the key) is open
    assert result["private"] is True
    assert result["after private"] == {"environ": "PermissionError", "mem": "PermissionError"}


def test_nothing_to_move_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from iterative_coder.secrets_env import initial_environ_names, move_secrets_out_of_environ

    monkeypatch.setenv("NOT_A_SECRET", "1")
    before = initial_environ_names()
    assert move_secrets_out_of_environ(["ITERATIVE_CODER_TEST_UNSET_NAME"]) == {}
    assert initial_environ_names() == before and os.environ["NOT_A_SECRET"] == "1"
