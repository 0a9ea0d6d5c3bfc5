"""Scripted model replies shared by the tests: a plan, acceptance tests, Coder scripts, reviews."""

from __future__ import annotations

import json
from pathlib import Path

from fake_openai import Fault

from iterative_coder.extract import extract_tests

# Replies recorded the way real models write them, each with what the tool must make of it (.json).
REPLIES = Path(__file__).parent / "replies"
TEST_CASES = sorted(path.stem for path in (REPLIES / "tests").glob("*.txt"))  # the Tester's


def reply(kind: str, case: str) -> str:
    """The recorded reply ``case`` of ``kind`` (tests, plan, ...)."""
    return (REPLIES / kind / f"{case}.txt").read_text(encoding="utf-8")


def code_of_tests(case: str) -> str:
    """The test file the tool takes from the recorded Tester reply ``case``."""
    code = extract_tests(reply("tests", case)).code
    assert code is not None
    return code


PLAN_1 = """# Word counter

## Request
A command-line tool that counts the words in a text file.

## Main challenges
- Files that do not exist.

## Requirements
1. `count_words(text)` returns the number of words.
2. The program prints the count for the file given as its argument.

Do you approve this plan? Reply "approve", or tell me what to change."""

PLAN_2 = PLAN_1.replace(
    "2. The program prints", "2. `count_lines(text)` returns the number of lines.\n3. The program prints"
)


TESTS = """Here are the tests.

```python
# Not checked automatically: none.
import script


def test_req1_counts_words():
    assert script.count_words("a b  c") == 3


def test_req2_counts_lines():
    assert script.count_lines("a\\nb\\n") == 2
```
"""


def script(version: int, extra: str = "") -> str:
    """A Coder reply: prose around a fenced script with a marker for its version."""
    return (
        f"Here is version {version}.\n\n```python\n# marker-script-v{version}\nimport sys\n\n"
        f"VERSION = {version}\n\n"
        f"def count_words(text):\n    return len(text.split())\n{extra}\n\n"
        "def main():\n    print(count_words(open(sys.argv[1]).read()))\n\n\n"
        'if __name__ == "__main__":\n    main()\n```\n\nI kept it simple.'
    )


def good_script(version: int) -> str:
    """A Coder reply whose script meets the plan: tests pass, no crash without arguments."""
    return (
        f"```python\n# marker-script-v{version}\nimport sys\n\n\n"
        "def count_words(text):\n    return len(text.split())\n\n\n"
        "def count_lines(text):\n    return len(text.splitlines())\n\n\n"
        "def main():\n    if len(sys.argv) < 2:\n        print('usage: count FILE')\n        return 2\n"
        "    print(count_words(open(sys.argv[1]).read()))\n    return 0\n\n\n"
        'if __name__ == "__main__":\n    sys.exit(main())\n```'
    )


ISSUES = {
    1: "main() crashes with IndexError when no file is given",
    2: "count_lines is missing although requirement 2 asks for it",
    3: "the --top option from the feedback is accepted but prints nothing",
    4: "a short docstring for count_words would help",
}


def review(version: int, verdict: str) -> str:
    """A Reviewer reply in the JSON the prompt asks for, with a distinct point per version."""
    points = (
        [] if verdict == "APPROVE" else [{"category": "failing", "where": "main", "issue": ISSUES[version]}]
    )
    return json.dumps(
        {
            "verdict": verdict,
            "coverage": [
                {
                    "requirement": n,
                    "status": "met" if verdict == "APPROVE" else "partly",
                    "evidence": "count_words",
                }
                for n in (1, 2, 3)
            ],
            "previous_points": [],
            "points": [{**p, "issue": f"REVIEW-MARKER-{version}: {p['issue']}"} for p in points],
        }
    )


# Faults a model server shows, and what the screen says while the call is tried again.
FAULTS = {
    "429 with Retry-After": (
        Fault("status", status=429, retry_after=0),
        "rate limited, retrying in 0 s (2/4)",
    ),
    "500": (Fault("status", status=500, retry_after=0), "server error 500, retrying in 0 s (2/4)"),
    "502": (Fault("status", status=502, retry_after=0), "server error 502, retrying in 0 s (2/4)"),
    "503": (Fault("status", status=503, retry_after=0), "server error 503, retrying in 0 s (2/4)"),
    "504": (Fault("status", status=504, retry_after=0), "server error 504, retrying in 0 s (2/4)"),
    "connection reset": (Fault("reset"), "the connection failed, retrying in"),
    "dropped reply": (Fault("drop"), ", retrying in"),
    "not JSON": (Fault("bad_json"), ", retrying in"),
}


# A lazy revision and a diff where a whole script was asked for, as real Coders send them.
LAZY = (
    "Here is version 2 with count_lines.\n\n```python\nimport sys\n\n\ndef count_lines(text):\n"
    "    return len(text.splitlines())\n\n\n# ... rest of the code unchanged ...\n```\n"
)
DIFF = (
    "```python\n--- a/script.py\n+++ b/script.py\n@@ -6,2 +6,5 @@\n def count_words(text):\n"
    "     return len(text.split())\n+\n+def count_lines(text):\n+    return len(text.splitlines())\n```\n"
    "Apply it with git apply."
)
