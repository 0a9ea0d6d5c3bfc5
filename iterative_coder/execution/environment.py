"""Each program's own environment: a virtual environment in ``runs/env/`` whose site-packages hold
exactly what the version's ``# /// script`` block declares, never the tool's own packages.

- **Made once, reused.** ``runs/env/declared.json`` (written last, atomically) says what the environment
  holds. A version that declares the same packages on the same Python reuses it as it is (no process
  started); one that declares others gets a new environment (a version never sees a package it no
  longer declares). A deleted folder, or one a killed install left without its ``declared.json``, is
  made again from the script alone. It is beside the runs, never part of the history.
- **Made with uv** (``uv pip install``: the ``uv`` PyPI package ships its binary, found with
  ``uv.find_uv_bin()``), **or venv + pip** where uv cannot run (``ITERATIVE_CODER_BUILDER=pip`` forces
  it). The environment itself is made by the standard library's ``venv`` in this process (symlinks,
  no pip in it): milliseconds either way.
- **Only the install has the network**, and under the sandbox it runs in bubblewrap with only
  ``runs/env/`` writable. ``ITERATIVE_CODER_FIND_LINKS=DIR`` installs from a folder of wheels with no
  index (the tests use it; so can a machine without PyPI).
- **pytest for the acceptance tests** is the tool's own, with no network: ``runs/env/pytest/`` holds
  links to exactly the files of pytest and its requirements in the tool's installation, put on
  ``sys.path`` (last) by the command that runs the tests, not by the environment: the program's own
  runs cannot import pytest. Installing pytest into each environment would need the network or a
  wheel cache; linking costs a few milliseconds and is the version the tool is tested with.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from ..records.environment import EnvironmentRecord
from ..workspace import atomic_write_text
from .runner import RunOptions, run_limited
from .sandbox import Sandbox

ENV_FOLDER = "env"  # runs/env
STATE_FILE = "declared.json"
FIND_LINKS_VARIABLE = "ITERATIVE_CODER_FIND_LINKS"
BUILDER_VARIABLE = "ITERATIVE_CODER_BUILDER"
INSTALL_TIMEOUT = 600.0
_PASSED_ON = re.compile(r"^(UV_|PIP_)|^(https?|no|all)_proxy$|^SSL_CERT_(FILE|DIR)$", re.IGNORECASE)
# Runs pytest from runs/env/pytest, appended to sys.path so that the environment's packages come first.
_PYTEST_BOOT = "import sys; sys.path.append({folder!r}); import pytest; sys.exit(int(pytest.main()))"
CODER, MANAGER = "Coder", "Manager"


@dataclass(frozen=True)
class Environment:
    """A program's environment in ``folder`` (``runs/env``)."""

    folder: Path

    @property
    def venv(self) -> Path:
        return self.folder / "venv"

    @property
    def python(self) -> Path:
        """The environment's interpreter (a link to the Python the tool runs on)."""
        return self.venv / "bin" / "python"

    @property
    def pytest_folder(self) -> Path:
        return self.folder / "pytest"

    def pytest_command(self) -> list[str]:
        """``python -I -c <run pytest>``: the environment's Python, isolated (no current folder, no user
        site, no PYTHON* variables), with the tool's pytest after the environment's packages."""
        return [str(self.python), "-I", "-c", _PYTEST_BOOT.format(folder=str(self.pytest_folder))]


def source() -> str:
    """Where packages come from: ``PyPI``, or the folder ``ITERATIVE_CODER_FIND_LINKS`` names."""
    return os.environ.get(FIND_LINKS_VARIABLE) or "PyPI"


def read_state(folder: Path) -> EnvironmentRecord | None:
    """What ``declared.json`` says the environment holds, or None (no file, or not ours)."""
    try:
        data = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("python") != sys.version:
            return None
        return EnvironmentRecord.from_json(data["environment"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_state(folder: Path, record: EnvironmentRecord) -> None:
    """Write ``declared.json`` for ``record`` (atomically: the environment is complete once it is there)."""
    text = json.dumps({"python": sys.version, "environment": record.to_json()}, indent=2)
    atomic_write_text(folder / STATE_FILE, text + "\n")


def is_ready(folder: Path, requested: tuple[str, ...]) -> bool:
    """Whether the environment in ``folder`` holds what ``requested`` declares, ready to reuse."""
    state = read_state(folder)
    return state is not None and state.requested == requested and Environment(folder).python.exists()


def prepare(
    folder: Path, requested: tuple[str, ...], sandbox: Sandbox | None, workspace: Path | None = None
) -> EnvironmentRecord:
    """The environment in ``folder`` for ``requested``: reused when it holds exactly that, else made
    anew and the packages installed. The record says what was asked for, what was installed, how and
    in how long; or, in one line, why it could not be made and who can fix that."""
    started = time.monotonic()
    environment = Environment(folder)
    state = read_state(folder)
    if state is not None and state.requested == requested and environment.python.exists():
        link_pytest(environment)
        return replace(state, reused=True)  # as it was made: how long that took
    (folder / STATE_FILE).unlink(missing_ok=True)  # from here on, a killed tool leaves it to be made again
    shutil.rmtree(environment.venv, ignore_errors=True)
    venv.EnvBuilder(symlinks=True, with_pip=False, clear=True).create(environment.venv)
    link_pytest(environment)
    builder = builder_name()
    if requested:
        problem = install(environment, requested, builder, sandbox, workspace)
        if problem is not None:
            seconds = round(time.monotonic() - started, 3)
            return EnvironmentRecord(requested, (), builder, seconds, problem=problem[0], fixer=problem[1])
    record = EnvironmentRecord(
        requested, installed(environment), builder, round(time.monotonic() - started, 3)
    )
    write_state(folder, record)
    return record


def builder_name() -> str:
    """``uv`` when its binary runs here, else ``pip`` (also when ``ITERATIVE_CODER_BUILDER=pip``)."""
    if os.environ.get(BUILDER_VARIABLE) == "pip":
        return "pip"
    binary = uv_binary()
    return "uv" if binary and _runs(binary) else "pip"


@functools.cache
def _runs(binary: str) -> bool:
    """Whether ``binary --version`` works here (a wheel for another libc or CPU does not)."""
    try:
        done = subprocess.run([binary, "--version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def uv_binary() -> str | None:
    """The uv binary of the ``uv`` package, or None when it is not installed."""
    try:
        from uv import find_uv_bin
    except ImportError:
        return None
    try:
        return str(find_uv_bin())
    except FileNotFoundError:
        return None


def install_command(environment: Environment, requested: tuple[str, ...], builder: str) -> list[str]:
    """The command that installs ``requested`` into the environment (a cache inside ``runs/env``)."""
    cache = str(environment.folder / "cache")
    links = os.environ.get(FIND_LINKS_VARIABLE)
    where = ["--no-index", "--find-links", links] if links else []
    if builder == "uv":
        uv = uv_binary() or "uv"
        return [uv, "pip", "install", "--python", str(environment.python), "--cache-dir", cache, *where,
                "--", *requested]  # fmt: skip
    return [sys.executable, "-m", "pip", "--python", str(environment.python), "install", "--no-input",
            "--disable-pip-version-check", "--cache-dir", cache, *where, "--", *requested]  # fmt: skip


def install(
    environment: Environment,
    requested: tuple[str, ...],
    builder: str,
    sandbox: Sandbox | None,
    workspace: Path | None,
) -> tuple[str, str] | None:
    """Install ``requested``; None when it worked, else (one line, who can fix it). With the sandbox,
    the installer has the network and only the environment's folder to write to."""
    command = install_command(environment, requested, builder)
    passed_on = tuple((name, value) for name, value in os.environ.items() if _PASSED_ON.match(name))
    options = RunOptions(workspace=workspace, extra_env=passed_on)
    if sandbox is not None:
        links = os.environ.get(FIND_LINKS_VARIABLE)
        extra_ro = [Path(links)] if links and Path(links).is_dir() else []
        command = sandbox.wrap(command, environment.folder, network=True, extra_ro=extra_ro)
        options = replace(options, sandboxed=True)
    try:
        result = run_limited(command, environment.folder, INSTALL_TIMEOUT, options)
    except OSError as error:
        return f"{builder} could not start ({error})", MANAGER
    if result.timed_out:
        return f"installing took longer than {INSTALL_TIMEOUT:g} s", MANAGER
    if result.exit_code == 0:
        return None
    return install_problem(result.text("stderr") + "\n" + result.text("stdout"), requested)


# What an installer's words mean, and who can fix it: the first pattern found wins.
_INSTALL_FAILURES = (
    (r"dns error|name resolution|failed to lookup address|Network is unreachable|client error \(Connect\)"
     r"|NewConnectionError|Failed to establish a new connection|Connection refused|Max retries exceeded",
     "no network to reach {source}: connect the machine and try again", MANAGER),
    (r"Because\s+(?P<name>[\w.\-\[\]]+)\s+was\s+not\s+found\s+in\s+the\s+(?:package\s+registry|provided\s+package)"
     r"|from versions: none\)\s+ERROR: No matching distribution found for (?P<pipname>[^\s;]+)",
     "{name} is not a package on {source}: declare its real PyPI name (or use the standard library)",
     CODER),
    (r"no wheels? (?:with a matching|for)|has no wheels|requires a different Python|requires-python"
     r"|Failed to build|Failed building wheel|error: subprocess-exited-with-error",
     "no build of {requested} installs on Python {python} here: choose another Python or package", MANAGER),
    (r"Because (?:only|there is no version|all versions)|Could not find a version that satisfies",
     "no release of {requested} on {source} fits the declared versions: declare a version that exists",
     CODER),
)  # fmt: skip


def install_problem(output: str, requested: tuple[str, ...]) -> tuple[str, str]:
    """(one line, who can fix it) for an install that failed with ``output``."""
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    for pattern, words, fixer in _INSTALL_FAILURES:
        match = re.search(pattern, output)
        if match:
            name = next((value for value in match.groupdict().values() if value), ", ".join(requested))
            said = words.format(name=name, source=source(), requested=", ".join(requested), python=python)
            return said, fixer
    lines = [line.strip() for line in output.splitlines() if line.strip() and "WARNING" not in line]
    errors = [line for line in lines if "error" in line.lower()] or lines or ["no reason given"]
    return f"installing {', '.join(requested)} failed: {errors[0][:200]}", MANAGER


def installed(environment: Environment) -> tuple[str, ...]:
    """``name==version`` of every distribution in the environment's site-packages, sorted."""
    found = set()
    for site_packages in environment.venv.glob("lib/python*/site-packages"):
        for distribution in metadata.distributions(path=[str(site_packages)]):
            name = distribution.metadata["Name"]
            if name:
                found.add(f"{name}=={distribution.version}")
    return tuple(sorted(found, key=str.lower))


def link_pytest(environment: Environment) -> None:
    """``runs/env/pytest/``: links to the files of pytest and of what it requires here, and nothing
    else (made once; a folder left half made by a killed tool is made again)."""
    folder = environment.pytest_folder
    done = folder / ".complete"
    if done.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for distribution in _requirement_closure("pytest"):
        for top in _top_level_entries(distribution):
            target = Path(str(distribution.locate_file(top)))
            if target.exists() and not (folder / top).exists():
                (folder / top).symlink_to(target)
    done.write_text("", encoding="utf-8")


def _requirement_closure(name: str) -> list[metadata.Distribution]:
    """The installed distribution ``name`` and those it requires on this Python, recursively."""
    from packaging.requirements import Requirement  # pytest's own requirement: always there with it

    found: dict[str, metadata.Distribution] = {}
    todo = [name]
    while todo:
        wanted = todo.pop()
        try:
            distribution = metadata.distribution(wanted)
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", distribution.metadata["Name"]).lower()
        if key in found:
            continue
        found[key] = distribution
        for line in distribution.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return list(found.values())


def _top_level_entries(distribution: metadata.Distribution) -> set[str]:
    """The top-level files and folders of a distribution's site-packages (its modules and dist-info)."""
    tops = set()
    for file in distribution.files or []:
        parts = Path(str(file)).parts
        if parts and parts[0] != ".." and not parts[0].endswith(".pth") and parts[0] != "__pycache__":
            tops.add(parts[0])
    return tops
