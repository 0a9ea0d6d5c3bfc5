"""The packages a script declares: PEP 723 inline script metadata, its writer and reader, and the
check that every third-party import of a script and of its acceptance tests is declared.

A script that needs packages says so at its top, the way ``uv run`` and ``pipx run`` read it::

    # /// script
    # requires-python = ">=3.10"
    # dependencies = ["pygame>=2.5"]
    # ///

The block is TOML read with a real parser (``tomllib``; ``tomli`` on Python 3.10). The block is found
with the PEP's own reference expression: it is the model's text, not a file of ours.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass

from .extract import parse_python
from .names import SCRIPT_IN_RUN

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

# PEP 723's reference regular expression for one metadata block.
_BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
PROGRAM = SCRIPT_IN_RUN.removesuffix(".py")
# Import names whose distribution on PyPI has another name: the distribution first, then other names
# a plan may call it by. One table: the declaration check and the test-file check both read it.
PACKAGE_NAMES: dict[str, tuple[str, ...]] = {
    "PIL": ("pillow",), "yaml": ("pyyaml",), "cv2": ("opencv-python", "opencv"),
    "bs4": ("beautifulsoup4", "beautifulsoup"), "sklearn": ("scikit-learn",),
    "dateutil": ("python-dateutil",), "skimage": ("scikit-image",), "attr": ("attrs",),
    "dotenv": ("python-dotenv",), "docx": ("python-docx",), "pptx": ("python-pptx",),
    "serial": ("pyserial",), "usb": ("pyusb",), "zmq": ("pyzmq",), "jwt": ("pyjwt",),
    "fitz": ("pymupdf",), "Crypto": ("pycryptodome",), "OpenGL": ("pyopengl",),
    "gi": ("pygobject",), "wx": ("wxpython",), "Xlib": ("python-xlib",),
    "telegram": ("python-telegram-bot",), "discord": ("discord.py",), "magic": ("python-magic",),
    "googleapiclient": ("google-api-python-client",), "win32api": ("pywin32",),
    "pkg_resources": ("setuptools",), "mpl_toolkits": ("matplotlib",), "ruamel": ("ruamel.yaml",),
    "slugify": ("python-slugify",), "multipart": ("python-multipart",), "jose": ("python-jose",),
}  # fmt: skip
TESTS_OWN = frozenset({PROGRAM, "pytest", "_pytest"})  # what acceptance tests import besides packages
_STANDARD = frozenset(sys.stdlib_module_names) | {"__future__"}
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


@dataclass(frozen=True)
class ScriptMetadata:
    """What a script's ``# /// script`` block declares."""

    dependencies: tuple[str, ...] = ()
    requires_python: str | None = None


def read_metadata(script: str) -> ScriptMetadata:
    """The script's declarations (none when it has no block); ValueError with a sentence when its
    block is not valid TOML or not of the PEP's shape, or when there are two."""
    blocks = [match for match in _BLOCK.finditer(script) if match.group("type") == "script"]
    if not blocks:
        return ScriptMetadata()
    if len(blocks) > 1:
        raise ValueError("it has more than one `# /// script` block")
    content = "".join(
        line[2:] if line.startswith("# ") else line[1:]
        for line in blocks[0].group("content").splitlines(keepends=True)
    )
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"its `# /// script` block is not valid TOML ({error})") from None
    dependencies = data.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(item, str) for item in dependencies):
        raise ValueError("`dependencies` in its `# /// script` block must be a list of strings")
    for requirement in dependencies:
        if _NAME.match(requirement) is None:
            raise ValueError(f"{requirement!r} in its `# /// script` block is not a package requirement")
    requires = data.get("requires-python")
    if requires is not None and not isinstance(requires, str):
        raise ValueError("`requires-python` in its `# /// script` block must be a string")
    return ScriptMetadata(tuple(item.strip() for item in dependencies), requires)


def write_metadata(metadata: ScriptMetadata) -> str:
    """The ``# /// script`` block (with its newline) that declares ``metadata``."""
    lines = ["# /// script"]
    if metadata.requires_python is not None:
        lines.append(f"# requires-python = {json.dumps(metadata.requires_python)}")
    lines.append(f"# dependencies = {dependencies_value(metadata.dependencies)}")
    return "\n".join([*lines, "# ///"]) + "\n"


def dependencies_value(dependencies: tuple[str, ...]) -> str:
    """``["pygame>=2.5", "numpy"]``: the TOML list (JSON strings are TOML strings)."""
    return "[" + ", ".join(json.dumps(item) for item in dependencies) + "]"


def with_metadata(script: str, metadata: ScriptMetadata) -> str:
    """``script`` with its ``# /// script`` block replaced by one declaring ``metadata`` (or, without
    one, such a block added at the top, after a ``#!`` line and an encoding line)."""
    block = write_metadata(metadata)
    found = next((m for m in _BLOCK.finditer(script) if m.group("type") == "script"), None)
    if found is not None:
        end = found.end() + (1 if script[found.end() : found.end() + 1] == "\n" else 0)
        return script[: found.start()] + block + script[end:]
    lines = script.splitlines(keepends=True)
    keep = 0
    while keep < len(lines) and keep < 2 and (lines[keep].startswith("#!") or "coding" in lines[keep][:40]):
        keep += 1
    return "".join(lines[:keep]) + block + "".join(lines[keep:])


def python_refused(requires_python: str | None) -> str | None:
    """``requires Python >=3.12; this is 3.11.7`` when the running Python is outside the declared
    range (which the environment's Python is: it is this one), else None (also for a range that
    cannot be read: the installer then says so)."""
    if not requires_python:
        return None
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # pytest's requirement, always here

    try:
        allowed = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return None
    running = ".".join(map(str, sys.version_info[:3]))
    return None if allowed.contains(running) else f"requires Python {requires_python}; this is {running}"


def how_to_run(name: str, script: str) -> str:
    """How a person runs the script outside the tool: ``uv run script_v3.py`` installs what it
    declares into an environment of its own (``pipx run`` does too); a script that declares nothing
    runs with any Python."""
    try:
        declared = read_metadata(script).dependencies
    except ValueError:
        declared = ()
    if not declared:
        return f"python3 {name} (it needs only the standard library)"
    return f"uv run {name} (or pipx run {name}): it installs {', '.join(declared)} for the script alone"


def distribution_name(requirement: str) -> str:
    """The normalized distribution name of a requirement (``Pillow>=10`` is ``pillow``)."""
    match = _NAME.match(requirement)
    return normalized(match.group(1) if match else requirement)


def normalized(name: str) -> str:
    """A distribution name the way PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def distribution_for(module: str) -> str:
    """The distribution that usually provides the top-level ``module`` (its own name when not listed)."""
    names = PACKAGE_NAMES.get(module)
    return names[0] if names else normalized(module)


@dataclass(frozen=True)
class Undeclared:
    """Third-party modules a file imports whose packages the script does not declare."""

    file: str  # the file that imports them
    modules: tuple[str, ...]


def third_party_imports(code: str, skip: frozenset[str] = frozenset()) -> list[str]:
    """The top-level modules outside the standard library ``code`` imports, in order, each once. An
    import inside ``try`` that catches ImportError is optional and left out, as is ``skip``."""
    tree, _error = parse_python(code)
    if tree is None:
        return []
    optional = {id(node) for node in _optional_imports(tree)}
    found: dict[str, None] = {}
    for node in ast.walk(tree):
        if id(node) in optional:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.setdefault(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            found.setdefault(node.module.split(".")[0])
    return [name for name in found if name not in _STANDARD and name not in skip]


def _optional_imports(tree: ast.Module) -> list[ast.stmt]:
    """The import statements directly in the body of a ``try`` whose handlers catch a failed import."""
    guarded: list[ast.stmt] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            guarded += [s for s in node.body if isinstance(s, (ast.Import, ast.ImportFrom))]
    return guarded


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(isinstance(name, ast.Name) and name.id in _IMPORT_ERRORS for name in names)


def named_in(module: str, plan: str) -> bool:
    """Whether the plan names the package of ``module`` (as a word, in any case)."""
    words = set(re.findall(r"[a-z0-9_-]+", plan.lower()))
    return module.lower() in words or any(name in words for name in PACKAGE_NAMES.get(module, ()))


def undeclared(
    script: str, script_file: str, tests: str | None = None, tests_file: str = "", plan: str = ""
) -> list[Undeclared]:
    """The third-party imports of ``script``, and those of ``tests`` that the plan names, that the
    script's block does not declare, by file (the script's own first). A block that cannot be read
    declares nothing. A test import the plan does not name is the test file's fault, not the script's."""
    try:
        declared = {distribution_name(item) for item in read_metadata(script).dependencies}
    except ValueError:
        declared = set()
    found = []
    for file, code, skip in ((script_file, script, frozenset()),
                             (tests_file, tests, TESTS_OWN)):  # fmt: skip
        if not code:
            continue
        modules = [m for m in third_party_imports(code, skip) if not _is_declared(m, declared)]
        if code is tests:
            modules = [module for module in modules if named_in(module, plan)]
        if modules:
            found.append(Undeclared(file, tuple(modules)))
    return found


def _is_declared(module: str, declared: set[str]) -> bool:
    return normalized(module) in declared or normalized(distribution_for(module)) in declared


def declaration_fix(script: str, missing: list[Undeclared]) -> str:
    """The exact lines to put at the top of ``script`` so that it declares what ``missing`` names: its
    block with the packages added (a new block when it has none)."""
    try:
        metadata = read_metadata(script)
    except ValueError:
        metadata = ScriptMetadata()
    added = [distribution_for(module) for item in missing for module in item.modules]
    dependencies = tuple(dict.fromkeys([*metadata.dependencies, *added]))
    return write_metadata(ScriptMetadata(dependencies, metadata.requires_python))


def describe_undeclared(missing: list[Undeclared]) -> str:
    """``script_v2.py imports pygame; acceptance_test.py imports numpy``."""
    return "; ".join(f"{item.file} imports {', '.join(item.modules)}" for item in missing)
