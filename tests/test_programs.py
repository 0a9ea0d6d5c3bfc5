"""Programs judged the way a person uses them: a window watched and photographed, a game fed typed
input, a tool given a file; each accepted when right and not when it really crashes."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import FAKE_KEY
from drive import review_of_version_1, run_main
from fake_openai import FakeOpenAIServer

PROGRAMS = Path(__file__).parent / "programs"
HAS_XVFB = shutil.which("Xvfb") is not None
if not HAS_XVFB and os.environ.get("CI") == "true":
    raise RuntimeError("CI must run the window tests: install the xvfb package")
needs_xvfb = pytest.mark.skipif(not HAS_XVFB, reason="Xvfb is not installed (apt-get install xvfb)")
# The Reviewer approves, having assessed every requirement (the clock's window by its screenshot).
APPROVE = json.dumps(
    {
        "verdict": "APPROVE",
        "coverage": [{"requirement": n, "status": "met", "evidence": "seen in the run"} for n in (1, 2)],
        "points": [],
    }
)
YES = ["--yes", "--execute", "always", "--max-iterations", "1"]

# name: (plan, acceptance tests, demo runs, what the run shows)
CASES = {
    "clock": (
        "# Analog clock\n\n## Requirements\n1. A window shows an analog clock face with the current time.\n"
        "2. `hand_angles(h, m, s)` gives the hands' angles.\n",
        "import script\n\n\ndef test_req2_hand_angles():\n"
        "    assert script.hand_angles(3, 0, 0) == (90, 0, 0)\n",
        [{"name": "watch the clock", "window_seconds": 2}],
        "window shown for 2 s",
    ),
    "guess": (
        "# Guess the number\n\n## Requirements\n1. Says higher or lower after each guess.\n",
        "import script\n\n\ndef test_req1_hint():\n    assert script.hint(50, 25) == 'higher'\n",
        [{"name": "play", "args": ["7"], "stdin": "50\n25\n"}],
        "waited for more input than the demo gives",
    ),
    "wc": (
        "# Word count\n\n## Requirements\n1. Prints lines, words and characters of the file given.\n",
        "import script\n\n\ndef test_req1_counts():\n    assert script.counts('a b\\nc\\n') == (2, 3, 6)\n",
        [{"name": "count a file", "args": ["words.txt"], "files": {"words.txt": "one two\nthree\n"}}],
        "ended (exit 0)",
    ),
}
BROKEN = {  # a real crash in the program's own code path
    "clock": ("    root.mainloop()", "    draw_numbers(canvas)\n    root.mainloop()"),
    "guess": ("        answer = hint(secret, int(text))", "        answer = hint(secret, int(text) / 0)"),
    "wc": ('    with open(sys.argv[1], encoding="utf-8")', '    with open(sys.argv[2], encoding="utf-8")'),
}


def enqueue(server: FakeOpenAIServer, name: str, script: str, reviewer: str = APPROVE) -> None:
    plan, tests, demo, _ = CASES[name]
    server.enqueue("planner", plan)
    server.enqueue("tester", f"```python\n{tests}```\n\n```json\n{json.dumps({'runs': demo})}\n```\n")
    server.enqueue("coder", f"```python\n{script}```")
    server.enqueue("reviewer", reviewer)


def program(name: str) -> str:
    return (PROGRAMS / f"{name}.py").read_text()


# The clock is accepted, and watched, in test_the_reviewer_sees_the_clock_when_its_model_takes_images.
@pytest.mark.parametrize("name", ["guess", "wc"])
def test_a_correct_program_is_accepted_at_version_1(
    name: str, fake_server, tmp_path: Path, model_env
) -> None:
    enqueue(fake_server, name, program(name))
    result = run_main(["--task", name, *YES], tmp_path, model_env)
    assert result.returncode == 0, result.stdout + result.stderr
    ws = tmp_path / "workspace"
    assert (ws / "review_v1.md").read_text().startswith("Verdict: APPROVE")
    run_text = (ws / "run_v1.md").read_text()
    assert CASES[name][3] in run_text
    assert json.loads((ws / "demo.json").read_text())["runs"][0]["name"] == CASES[name][2][0]["name"]
    if name == "guess":  # the dialogue is in the run
        assert "Your guess: higher" in run_text and "Your guess: lower" in run_text
    if name == "wc":
        assert "2 3 14 words.txt" in run_text


@pytest.mark.parametrize("name", [pytest.param("clock", marks=needs_xvfb), "guess", "wc"])
def test_a_program_that_really_crashes_is_not_approved(name: str, fake_server, tmp_path: Path) -> None:
    old, new = BROKEN[name]
    broken = program(name).replace(old, new)
    assert broken != program(name)
    plan, tests, demo, _ = CASES[name]
    review = review_of_version_1(fake_server, tmp_path, (plan, tests, demo), broken, APPROVE)
    assert review.startswith("Verdict: REVISE")
    assert "The tool changed the verdict from APPROVE to REVISE" in review and "crashed with" in review


@needs_xvfb
@pytest.mark.parametrize("vision", [True, False])
def test_the_reviewer_sees_the_clock_when_its_model_takes_images(
    vision: bool, fake_server, tmp_path: Path, clean_env
) -> None:
    entry = {"model": "gpt-4o-mini", "base_url": fake_server.base_url, "api_key": FAKE_KEY, "vision": vision}
    (tmp_path / "OAI_CONFIG_LIST").write_text(json.dumps([entry]))
    enqueue(fake_server, "clock", program("clock"))
    result = run_main(["--task", "clock", *YES], tmp_path, clean_env)
    assert result.returncode == 0, result.stdout + result.stderr
    ws = tmp_path / "workspace"
    assert (ws / "review_v1.md").read_text().startswith("Verdict: APPROVE")  # accepted at version 1
    assert CASES["clock"][3] in (ws / "run_v1.md").read_text()
    assert json.loads((ws / "demo.json").read_text())["runs"][0]["name"] == "watch the clock"
    screenshot = ws / "runs" / "v1" / "screen-1.png"
    assert "runs/v1/screen-1.png" in (ws / "run_v1.md").read_text()
    from PIL import Image

    with Image.open(screenshot) as image:
        assert image.format == "PNG"
        width, height = image.size  # the clock's window (its 300x300 canvas and a border), not the screen
        assert 300 <= width < 320 and 300 <= height < 320, image.size
        colours = image.convert("RGB").getcolors(maxcolors=100_000)
        assert colours is None or len(colours) > 2  # a drawn clock, not a blank screen
        white = sum(count for count, colour in colours or [] if colour == (255, 255, 255))
        assert white > 1000  # the white face
    request = fake_server.requests_for("reviewer")[0]
    taken = re.search(r"\(taken at (\d\d:\d\d:\d\d) \S* ?local time\)", request.text)  # the run, in its task
    assert taken is not None and taken.group(0) in (ws / "run_v1.md").read_text()
    assert not vision or re.search(rf"taken after \d+ s, at {taken.group(1)}", request.text)  # the picture
    if vision:
        assert len(request.image_parts) == 1 and "a screenshot of it" in request.text
    else:
        assert request.image_parts == [] and "you cannot see it" in request.text


def test_run_gives_the_person_the_programs_keyboard_and_ctrl_c_comes_back(fake_server, run_cli) -> None:
    enqueue(fake_server, "guess", program("guess"))
    cli = run_cli("--task", "guess", "--execute", "always")
    for _ in range(2):  # the plan, then the tests and the demo
        cli.expect('Reply "approve"')
        cli.answer("approve")
    cli.expect("The Reviewer approves script_v1.py")
    cli.answer("/run 7")  # the secret number is 42 with this seed
    cli.expect("with your keyboard and screen; Ctrl-C ends it.")
    cli.expect("Your guess: ")
    cli.child.sendline("50")
    cli.expect("lower")
    cli.expect("Your guess: ")
    cli.child.sendline("25")
    cli.expect("higher")
    cli.expect("Your guess: ")
    cli.child.sendintr()
    cli.expect("ended by Ctrl-C")
    cli.expect("The Reviewer approves script_v1.py")  # back at the Manager's prompt, the session intact
    cli.answer("")
    assert cli.wait_exit() == 0
    assert "Accepted script_v1.py as final." in cli.output


def test_without_a_virtual_display_a_window_is_not_run_and_not_a_crash(
    fake_server, tmp_path: Path, model_env
) -> None:
    bin_dir = tmp_path / "bin"  # a PATH with Python and nothing else: no Xvfb (and no bwrap)
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(shutil.which("python3") or "/usr/bin/python3")
    enqueue(fake_server, "clock", program("clock"))
    result = run_main(["--task", "clock", *YES], tmp_path, {**model_env, "PATH": str(bin_dir)})
    assert result.returncode == 0, result.stdout + result.stderr
    ws = tmp_path / "workspace"
    assert (
        "not run: it opens a window and no virtual display is available (install the xvfb package)"
        in (ws / "run_v1.md").read_text()
    )
    assert (ws / "review_v1.md").read_text().startswith("Verdict: APPROVE")
    assert "Generated code is not sandboxed (bubblewrap (bwrap) is not installed)" in result.stdout


def test_a_screenshot_is_cut_to_the_windows_or_else_to_what_is_drawn() -> None:
    from PIL import Image

    from iterative_coder.execution.window_crop import cropped

    screen = Image.new("RGB", (1024, 768))
    screen.paste((255, 255, 255), (100, 50, 400, 350))
    windows = [(100, 50, 400, 350), (390, 60, 1200, 100)]
    assert cropped(screen, windows).size == (924, 300)  # their union, within the screen
    assert cropped(screen, []).size == (300, 300)  # no window list: the drawn part
    assert cropped(Image.new("RGB", (64, 48)), []).size == (64, 48)  # nothing drawn: all of it
