"""Trying a program over time, as a person does: a server sent requests, a watcher left running until
Ctrl-C, a full-screen terminal program typed at. The tool's side of :mod:`program_driver`, which
runs in the program's sandbox (so requests reach its private loopback) and starts the program as
its child; here its config is made, it is run within the limits, and what it saw becomes the demo
run's record, with the screen rendered as text (``pyte``) and saved as ``runs/vN/screen-N.txt``.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import resource
import shutil
import socket
import stat
import sys
import tempfile
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import redact
from ..records.run import CommandRecord, DemoResult, kind_of
from ..records.trial import KEYS, SCREEN_SIZE, SERVE, UNTIL_STOPPED, Answer, Trial
from ..textsafe import clean_terminal_text
from .display import taken_at
from .program_driver import SCREEN_KEEP
from .runner import ADDRESS_SPACE, RunOptions

if TYPE_CHECKING:
    from .demo import DemoRun
    from .demo_fields import DemoRequest
    from .runs import Execution

DRIVER = Path(__file__).with_name("program_driver.py")
TERM = "xterm-256color"  # a terminal every terminfo database knows, with colours and an alternate screen
DEFAULT_RUN_SECONDS = 3.0
BROWSERS = ("chromium", "chromium-browser")
RESULT_KEEP, PICTURE_KEEP = 1024**2, 20 * 1024**2  # bytes read of the driver's outcome and of a picture
# Leaving the alternate screen: the screen the program showed is the one just before.
_LEAVE_ALTERNATE = (b"\x1b[?1049l", b"\x1b[?1047l", b"\x1b[?47l")


@dataclass(frozen=True)
class DriveTimes:
    """How long a person waits, in seconds: for a server to listen, for an answer, for a program to end
    after Ctrl-C (and after SIGTERM), for the screen to settle before a key, and at most per key."""

    listen: float = 10.0
    request: float = 5.0
    grace: float = 3.0
    settle: float = 0.3
    key: float = 3.0
    after_keys: float = 2.0  # how long a program typed at may run after the last key (unless the demo says)
    browser: float = 20.0  # for a headless browser's picture of a served page


TIMES = DriveTimes()  # tests shorten these


def mode_of(demo: DemoRun) -> str:
    """How the run is tried: served requests, keys in a terminal, or run until Ctrl-C."""
    if demo.trial.port is not None:
        return SERVE
    return KEYS if demo.trial.keys else UNTIL_STOPPED


def driver_config(demo: DemoRun, command: list[str], folder: Path, port: int | None) -> dict[str, Any]:
    """What :mod:`program_driver` is told: the command, the mode, the requests or keys, the times."""
    times, mode = TIMES, mode_of(demo)
    run_seconds = demo.trial.run_seconds
    if run_seconds is None:
        run_seconds = times.after_keys if mode == KEYS else 0.0 if mode == SERVE else DEFAULT_RUN_SECONDS
    return {
        "mode": mode,
        "command": [part.replace("{port}", str(port)) for part in command] if port else command,
        "stdin": demo.stdin,
        "port": port,
        "requests": [
            {"method": r.method, "path": r.path, "body": r.body, "headers": dict(r.headers)}
            for r in demo.trial.requests
        ],  # fmt: skip
        "keys": list(demo.trial.keys),
        "run_seconds": run_seconds,
        "listen_seconds": times.listen,
        "request_seconds": times.request,
        "grace_seconds": times.grace,
        "settle_seconds": times.settle,
        "key_seconds": times.key,
        "columns": SCREEN_SIZE[0],
        "rows": SCREEN_SIZE[1],
        "term": TERM,
        "result": str(folder / "result.json"),
        "screen": str(folder / "screen.bin"),
        "browser": browser() if mode == SERVE else None,
        "page": str(folder / "page.png"),
        "browser_seconds": times.browser,
        "address_space": ADDRESS_SPACE,
    }


def browser() -> str | None:
    """The system's Chromium, if installed (from the system's packages: never one that downloads
    itself), to take a picture of a served page."""
    return next(filter(None, (shutil.which(name) for name in BROWSERS)), None)


def time_limit(config: dict[str, Any]) -> float:
    """The longest the driver can take, and a margin: past it, it is stopped as any program."""
    waits = config["run_seconds"] + 3 * config["grace_seconds"] + 5.0
    if config["mode"] == SERVE:
        waits += config["listen_seconds"] + len(config["requests"]) * config["request_seconds"]
        waits += config["browser_seconds"] if config["browser"] else 0.0
    if config["mode"] == KEYS:
        waits += (len(config["keys"]) + 1) * config["key_seconds"]
    return waits


def port_for(demo: DemoRun, sandboxed: bool) -> tuple[int | None, str]:
    """The port the server is to use, and a note when it is not the demo's: without the sandbox the
    program shares this machine's ports, and one in use gets a free one instead (told through ``PORT``
    and ``{port}`` in its arguments)."""
    port = demo.trial.port
    if port is None or sandboxed or _free(port):
        return port, ""
    free = _free_port_below_ephemeral()
    note = (f"port {port} is in use on this machine (the sandbox is off), so the program was given port "
            f"{free} (PORT in its environment, {{port}} in its arguments)")  # fmt: skip
    return free, note


def _free_port_below_ephemeral() -> int:
    """A free port under the range the system hands out for ``bind(port 0)``: one from that range,
    once closed, may be handed to any other process before the program binds it, and then that
    process's server answers the demo's requests (seen with two sessions side by side)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768  # Linux's default; other systems' ranges start higher
    candidates = list(range(max(1024, low - 12000), max(1025, low)))
    random.shuffle(candidates)
    for port in candidates[:200]:
        if _free(port):
            return port
    with socket.socket() as probe:  # nothing free below the range: one from it
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def try_over_time(
    execution: Execution, run_dir: Path, number: int, demo: DemoRun, command: list[str]
) -> DemoResult:
    """Run ``command`` in ``run_dir`` as ``demo`` says it is tried; the demo run's record."""
    port, note = port_for(demo, execution.sandbox is not None)
    with tempfile.TemporaryDirectory(prefix="iterative-coder-try-") as folder:
        place = Path(folder)
        config = driver_config(demo, command, place, port)
        shutil.copyfile(DRIVER, place / DRIVER.name)
        (place / "config.json").write_text(json.dumps(config), encoding="utf-8")
        driver = [sys.executable, "-I", "-S", str(place / DRIVER.name), str(place / "config.json")]
        limited = replace(execution, timeout=time_limit(config))
        # With a browser, the driver runs without the address-space limit and sets it on the program.
        unlimited = RunOptions(address_space=resource.RLIM_INFINITY) if config["browser"] else RunOptions()
        record = limited.run(driver, run_dir, unlimited, ((), (place,)))
        # The program could write in this folder too: nothing is followed out of it, or read unbounded.
        seen = _read_json(place / "result.json")
        screen = _read_capped(place / "screen.bin", SCREEN_KEEP) if config["mode"] == KEYS else None
        page = _kept_picture(place / "page.png", run_dir.parent / f"page-{number}.png")
    unseen = clean_terminal_text(str(seen.get("browser_error") or ""))
    unseen = f"the browser took no picture of the page ({unseen})" if unseen else ""
    trial = trial_of(seen, config, demo, record, "; ".join(filter(None, (demo.trial.note, note, unseen))))
    if screen is not None:
        at = seen.get("screen_at")
        text = clean_terminal_text(redact(render_screen(screen[: at if isinstance(at, int) else None]),
                                          list(execution.secrets)))  # fmt: skip
        path = run_dir.parent / f"screen-{number}.txt"
        path.write_text(text + "\n", encoding="utf-8")
        shown = path.relative_to(execution.workspace_root.resolve()).as_posix()
        trial = replace(trial, screen=shown, screen_text=text)
        after = execution.redacted(replace(record, stdout=printed_after(screen))).stdout.strip()
        record = replace(record, stdout=after + "\n" if after else "")
    record = program_record(record, trial)
    result = DemoResult(demo.name, record, kind_of(record, trial=trial), demo.args, demo.stdin, trial=trial)
    if page is None:
        return result
    shown = page.relative_to(execution.workspace_root.resolve()).as_posix()
    return replace(result, screenshot=shown, taken=taken_at(page))


def _kept_picture(made: Path, kept: Path) -> Path | None:
    """The browser's picture copied into the run's folder, when it took one (a PNG)."""
    picture = _read_capped(made, PICTURE_KEEP)
    if not picture.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    kept.write_bytes(picture)
    return kept


def trial_of(seen: dict[str, Any], config: dict[str, Any], demo: DemoRun, record: CommandRecord,
             note: str) -> Trial:  # fmt: skip
    """The trial record from what the driver saw (``seen``; empty when it was itself stopped)."""
    answers = tuple(
        answer_of(found, request)
        for found, request in zip(seen.get("answers") or [], demo.trial.requests, strict=False)
        if isinstance(found, dict)
    )
    signals = tuple(str(name) for name in seen.get("signals") or [] if isinstance(name, str))
    tail = record.stderr.strip().splitlines()[-1:] if record.stderr.strip() else []
    return Trial(
        mode=config["mode"],
        signals=signals,
        ran_seconds=_seconds(seen.get("ran_seconds")),
        port=config["port"],
        listened=seen.get("listened") is True,
        listen_seconds=_seconds(seen.get("listen_seconds")),
        answers=answers,
        keys=tuple(config["keys"]),
        note=note,
        traceback=bool(signals) and any(line.startswith("KeyboardInterrupt") for line in tail),
    )


def answer_of(found: dict[str, Any], request: DemoRequest) -> Answer:
    """The answer to ``request`` as the driver saw it; of an HTML page, the body is the page's text.
    What the server said (a body, a malformed status line in an error) is the program's text: taken out
    of terminal control sequences."""
    said = {key: clean_terminal_text(str(found.get(key) or "")) for key in ("error", "body", "content_type")}
    status = _status(found.get("status"))
    answer = Answer(request.method, request.path, request.status, status, said["error"][:200], said["body"],
                    said["content_type"][:100])  # fmt: skip
    return replace(answer, body=page_text(answer.body)) if answer.page else answer


class _PageText(HTMLParser):
    """The text a browser shows of a page: no tags, scripts or styles; blocks on lines of their own."""

    BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title", "table"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hidden += tag in ("script", "style")
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        self.hidden -= tag in ("script", "style") and self.hidden > 0

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def page_text(html: str) -> str:
    """The text of an HTML page, a line for each block."""
    parser = _PageText()
    parser.feed(html)
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def program_record(record: CommandRecord, trial: Trial) -> CommandRecord:
    """The driver's record as the program's: a signal the tool sent to stop it is no crash, and the
    result says how it ended."""
    if not trial.stopped or record.timed_out or record.too_many_processes:
        return record
    killed_by = None if record.killed_by in trial.signals else record.killed_by
    crash = None if record.crash == "KeyboardInterrupt" else record.crash
    return replace(record, killed_by=killed_by, crash=crash, description=trial.ending(record.exit_code))


def render_screen(data: bytes) -> str:
    """What a person sees in an 80x24 terminal after the program wrote ``data`` to it (up to the moment
    it left the alternate screen, where full-screen programs draw, if it did)."""
    import pyte

    cut = max(data.rfind(leave) for leave in _LEAVE_ALTERNATE)
    screen = pyte.Screen(*SCREEN_SIZE)
    try:
        pyte.ByteStream(screen).feed(data[:cut] if cut > 0 else data)
    except Exception as error:  # noqa: BLE001 - the program's bytes are hostile; pyte may trip on some
        return f"(the screen could not be rendered: {type(error).__name__})"
    return "\n".join(line.rstrip() for line in screen.display).rstrip("\n")


def printed_after(data: bytes) -> str:
    """What the program wrote to the terminal once it had left the alternate screen (a final score)."""
    cut = max(data.rfind(leave) for leave in _LEAVE_ALTERNATE)
    return data[cut:].decode("utf-8", "replace") if cut >= 0 else ""


def _read_json(path: Path) -> dict[str, Any]:
    with contextlib.suppress(ValueError):
        data = json.loads(_read_capped(path, RESULT_KEEP).decode("utf-8", "replace"))
        if isinstance(data, dict):
            return data
    return {}


def _read_capped(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of the file at ``path``, never through a link; empty when it cannot."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        return os.read(handle, limit) if stat.S_ISREG(os.fstat(handle).st_mode) else b""
    except OSError:
        return b""
    finally:
        os.close(handle)


def _status(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _seconds(value: object) -> float:
    return round(float(value), 3) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0
