"""Telling a whole script from a fragment before it is saved as ``script_vN.py``.

Real Coders, asked for the whole file, often send less: a placeholder comment standing for
unchanged code (``# ... rest of the code unchanged ...``), a method whose body is only ``...``, a
unified diff, Aider-style SEARCH/REPLACE edit blocks, or a script that silently leaves out functions
the plan, the tests or the script itself still use. :func:`judge_reply` names the problem in one
sentence, so the Coder can be asked again; nothing here writes a file.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from .edit_blocks import has_edit_blocks
from .extract import (
    PY_INFOS,
    ExtractedCode,
    extract_code,
    fences,
    parse_python,
    unparsed_lines,
    without_thinking,
)

PLACEHOLDER, DIFF, EDIT_BLOCKS, DROPPED, NO_CODE = (
    "placeholder",
    "diff",
    "edit_blocks",
    "dropped_definitions",
    "no_code",
)

_DIFF_INFOS = frozenset({"diff", "patch", "udiff"})
_HUNK = re.compile(r"@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@")
_SUBJECT = (
    r"(?:code|functions?|methods?|implementations?|definitions?|helpers?|classes|logic|"
    r"everything else|the rest|imports)"
)
_EARLIER = r"(?:the )?(?:previous|original|last|earlier|old|version|v\d)"
_REST = (
    r"rest of (?:the |your |this )?(?:code|script|program|module|class|functions?|methods?|implementation)\b"
)
_OMISSIONS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        rf"^\W*(?:\.{{2,}}\s*)?(?:the )?{_REST}",
        r"\brest of (?:the |your |this )?(?:code|script|program|module|class|functions?|methods?|file)\b"
        r".{0,30}\b(?:unchanged|the same|as before|as it was|omitted|remains?|stays?)\b",
        r"^\W*(?:unchanged|as before|same as before|omitted)\W*$",
        rf"\b{_SUBJECT}\s+(?:(?:is|are|was|were|remains?|stays?|kept|left|still|all|exactly)\s+)*"
        rf"(?:the same|unchanged|as before|as is|omitted|as in {_EARLIER})",
        rf"\bsame as (?:before|earlier|previously|in {_EARLIER})",
        r"\b(?:omitted|left out|elided|not shown|skipped|trimmed)\b.{0,20}\bfor brevity\b",
        r"\b(?:your|existing) (?:code|implementation) (?:goes )?here\b",
        r"^\W*\.{2,}\s*(?:the )?(?:existing|previous|original|unchanged|other|remaining|rest)\b",
    )
)
_PLACEHOLDER_WORDS = 12  # a longer comment explains code; a placeholder is short
_STUB_DECORATORS = frozenset({"abstractmethod", "overload", "abstractproperty"})
_STUB_BASES = frozenset({"Protocol", "ABC"})


@dataclass(frozen=True)
class Refusal:
    """Why a reply may not become ``script_vN.py``: a reason code and one sentence."""

    reason: str  # placeholder | diff | edit_blocks | dropped_definitions | no_code
    why: str  # e.g. "it is a diff, not the whole file"


@dataclass(frozen=True)
class Context:
    """What a reply is judged against: the previous script, the plan and the acceptance tests."""

    previous: str | None = None
    plan: str = ""
    tests: str = ""


def judge_reply(reply: str, context: Context) -> tuple[ExtractedCode, Refusal | None]:
    """The script a Coder reply holds, and why it may not be saved as the whole program (or None).

    The most specific reason wins: edit blocks, a diff, no code, a placeholder, then dropped
    definitions (a lazy reply that hides functions behind a placeholder is a placeholder).
    """
    extracted = extract_code(reply)
    visible = without_thinking(reply)
    refusal = _edit_blocks(visible) or _diff(visible)
    if refusal is None and extracted.code is None:
        refusal = Refusal(NO_CODE, "it held no Python code")
    if refusal is None and extracted.code is not None:
        refusal = placeholder_in(extracted.code, context.previous) or dropped_in(extracted.code, context)
    return extracted, refusal


def _edit_blocks(reply: str) -> Refusal | None:
    if has_edit_blocks(reply):
        return Refusal(EDIT_BLOCKS, "it is SEARCH/REPLACE edit blocks, not the whole file")
    return None


def _looks_like_diff(code: str) -> bool:
    lines = [line for line in code.splitlines() if line.strip()]
    if any(_HUNK.match(line) for line in lines):
        return True
    if any(a.startswith("--- ") and b.startswith("+++ ") for a, b in zip(lines, lines[1:], strict=False)):
        return True
    marked = [line for line in lines if line[:1] in "+-"]
    return len(marked) >= 3 and 2 * len(marked) >= len(lines) and any(line[:1] == "+" for line in marked)


def _diff(reply: str) -> Refusal | None:
    for fence in fences(reply):
        if fence.code is None:
            continue
        python = fence.info in PY_INFOS and parse_python(fence.code)[1] is not None
        if fence.info in _DIFF_INFOS or (python and _looks_like_diff(fence.code)):
            return Refusal(DIFF, "it is a diff, not the whole file")
    if any(_HUNK.match(line) for line in unparsed_lines(reply, every_fence=True)):
        return Refusal(DIFF, "it is a diff, not the whole file")
    return None


# Placeholders: comments, strings and bodies that stand for code left out.


_AFTER_HASH = re.compile(r"#+([^\n]*)")


def _comments(code: str) -> list[str]:
    """The text of every comment in ``code`` (as far as it tokenizes)."""
    found: list[str] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type == tokenize.COMMENT:
                found.append(token.string.lstrip("#").strip())
    except (tokenize.TokenError, SyntaxError):
        pass
    return found


def is_omission(text: str) -> bool:
    """Whether a short comment or string says that code was left out ("rest of the code unchanged")."""
    words = text.split()
    return 0 < len(words) <= _PLACEHOLDER_WORDS and any(p.search(text) for p in _OMISSIONS)


def _bodies(tree: ast.Module) -> list[list[ast.stmt]]:
    """Every statement list in the tree (a module's, a function's, a loop's...), walked once."""
    return [body for node in ast.walk(tree) if isinstance(body := getattr(node, "body", None), list)]


def _loose_strings(bodies: list[list[ast.stmt]]) -> list[str]:
    """String statements that are not docstrings, and docstrings that are a whole body."""
    found: list[str] = []
    for body in bodies:
        for index, statement in enumerate(body):
            if _is_docstring(statement) and (index > 0 or len(body) == 1):
                found.append(statement.value.value.strip())  # type: ignore[attr-defined]
    return found


def _lone_ellipsis(bodies: list[list[ast.stmt]]) -> bool:
    """Whether a bare ``...`` statement stands among other statements (code cut out of a body)."""
    for body in bodies:
        if len(body) > 1:
            rest = body[1:] if _is_docstring(body[0]) else body
            if len(rest) > 1 and any(_is_ellipsis(statement) for statement in rest):
                return True
    return False


def _is_docstring(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and isinstance(statement.value.value, str)
    )


def _is_ellipsis(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Constant)
        and (statement.value.value is Ellipsis)
    )


def _is_stub(body: list[ast.stmt]) -> bool:
    """A body of nothing but a docstring, ``pass``, ``...`` or ``raise NotImplementedError``."""
    rest = body[1:] if body and _is_docstring(body[0]) else body
    return all(
        isinstance(s, ast.Pass)
        or _is_ellipsis(s)
        or (isinstance(s, ast.Raise) and "NotImplementedError" in ast.dump(s.exc or ast.Pass()))
        for s in rest
    )


def _name_of(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _functions(tree: ast.Module) -> dict[str, tuple[bool, bool]]:
    """Top-level functions and methods (``Class.method``): (is a stub, may be a stub by design)."""
    found: dict[str, tuple[bool, bool]] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = (_is_stub(node.body), _by_design(node, False))
        elif isinstance(node, ast.ClassDef):
            abstract = any(_name_of(base) in _STUB_BASES for base in node.bases)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = (_is_stub(item.body), _by_design(item, abstract))
    return found


def _by_design(node: ast.FunctionDef | ast.AsyncFunctionDef, in_abstract_class: bool) -> bool:
    """A Protocol or ABC method, or an abstract method or overload: ``...`` is its real body."""
    return in_abstract_class or any(_name_of(d) in _STUB_DECORATORS for d in node.decorator_list)


def placeholder_in(code: str, previous: str | None) -> Refusal | None:
    """A comment, string or body in ``code`` that stands for code left out, or None.

    A placeholder comment the previous version had too is not held against this one.
    """
    # Tokenizing is slow; text after a "#" that reads like no omission at all rules the comments out.
    if any(is_omission(candidate.strip()) for candidate in _AFTER_HASH.findall(code)):
        earlier = set(_comments(previous)) if previous else set()
        for comment in _comments(code):
            if comment not in earlier and is_omission(comment):
                where = f'it has the placeholder comment "# {comment}" where code should be'
                return Refusal(PLACEHOLDER, where)
    tree, _error = parse_python(code)
    if tree is None:
        return None
    bodies = _bodies(tree)
    for text in _loose_strings(bodies):
        if is_omission(text):
            flat = " ".join(text.split())
            return Refusal(PLACEHOLDER, f'it has the placeholder string "{flat}" where code should be')
    if _lone_ellipsis(bodies):
        return Refusal(PLACEHOLDER, "it has a bare ... where code should be")
    old_tree = parse_python(previous)[0] if previous else None
    if old_tree is None:
        return None
    old = _functions(old_tree)
    for name, (stub, by_design) in _functions(tree).items():
        if stub and not by_design and name in old and not old[name][0]:
            return Refusal(
                PLACEHOLDER, f"{name} has only a placeholder body where the previous version had code"
            )
    return None


# Dropped definitions: top-level functions and classes that went missing but are still used.


def _bound_at_top(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level (also inside top-level if/try/with blocks)."""
    names: set[str] = set()
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
            continue
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
            elif isinstance(child, ast.stmt):
                pending.append(child)
            elif isinstance(child, (ast.Tuple, ast.List)):
                names.update(
                    n.id for n in ast.walk(child) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
                )
            elif isinstance(child, ast.excepthandler):
                pending.extend(child.body)
    return names


def _named_in_plan(name: str, plan: str) -> bool:
    plain = name.islower() and "_" not in name  # "play", "select": words a plan uses in prose
    pattern = rf"`{name}\b|\b{name}\(" if plain else rf"\b{name}\b"
    return re.search(pattern, plan) is not None


def _used_by_tests(name: str, tests: str) -> bool:
    if re.search(rf"\bscript\s*\.\s*{name}\b", tests):
        return True
    imports = re.findall(r"^\s*from\s+script\s+import\s+\(?([^)\n]+)", tests, re.MULTILINE)
    return any(name in re.findall(r"\w+", line) for line in imports)


def dropped_in(code: str, context: Context) -> Refusal | None:
    """Top-level functions or classes of the previous version that ``code`` leaves out although the
    plan, the acceptance tests or ``code`` itself still use them, or None."""
    old_tree = parse_python(context.previous)[0] if context.previous else None
    tree, _error = parse_python(code)
    if old_tree is None or tree is None:
        return None
    defined = [
        node.name
        for node in old_tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    bound = _bound_at_top(tree)
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    missing = [
        name
        for name in defined
        if name not in bound
        and (name in loaded or _named_in_plan(name, context.plan) or _used_by_tests(name, context.tests))
    ]
    if not missing:
        return None
    names = missing[:4] + ([f"{len(missing) - 4} more"] if len(missing) > 4 else [])
    shown = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return Refusal(
        DROPPED,
        f"it leaves out {shown}, which the previous version had and the plan, the tests or the script "
        "itself still use",
    )
