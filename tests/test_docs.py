"""The documentation holds together: the README is a short front door, every relative link in it and in
docs/*.md reaches a file and, with ``#anchor``, a heading of that file (by GitHub's anchor rule), every
docs page is linked from the README, and the tables that restate a table of the code agree with it."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from iterative_coder import draft_answers, endings, manager

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [README, *DOCS]
README_MOST_LINES = 300  # read in five minutes; the reference belongs in docs/

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(.+?)(?<!`)\1(?!`)")
_LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_NOT_IN_ANCHOR = re.compile(r"[^\w\- ]")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:...


@dataclass(frozen=True)
class Link:
    """A relative link as written: the page it is on, its line, and its target."""

    page: Path
    line: int
    target: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}: ({self.target})"


def prose_lines(text: str) -> list[tuple[int, str]]:
    """The numbered lines of Markdown outside fenced code blocks, code spans taken out."""
    lines, fence = [], ""
    for number, line in enumerate(text.splitlines(), start=1):
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence):
                fence = ""
            continue
        if opening:
            fence = opening.group(1)
            continue
        lines.append((number, _CODE_SPAN.sub(lambda span: span.group(2).strip(), line)))
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text as shown, in lower case, without punctuation but ``-`` and
    ``_``, each space a hyphen."""
    shown = _LINK.sub(r"\1", _CODE_SPAN.sub(r"\2", heading)).replace("*", "")
    return _NOT_IN_ANCHOR.sub("", shown.strip().lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """The anchors of a page's headings; a repeated one gets ``-1``, ``-2``... as on GitHub."""
    seen: Counter[str] = Counter()
    found = set()
    for _number, line in prose_lines(text):
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading.group(2))
            found.add(f"{base}-{seen[base]}" if seen[base] else base)
            seen[base] += 1
    return found


def links(page: Path) -> list[Link]:
    """The relative links of a page (external addresses left out)."""
    return [
        Link(page, number, match.group(2))
        for number, line in prose_lines(page.read_text())
        for match in _LINK.finditer(line)
        if not _EXTERNAL.match(match.group(2))
    ]


def broken(link: Link) -> str | None:
    """Why ``link`` leads nowhere, or None when it reaches its file and heading."""
    path, _, anchor = link.target.partition("#")
    target = (link.page.parent / path).resolve() if path else link.page
    if not target.exists():
        return f"{link}: no file {path}"
    if anchor and target.suffix == ".md" and anchor not in anchors(target.read_text()):
        return f"{link}: no heading #{anchor} in {target.relative_to(ROOT)}"
    return None


def test_the_anchor_rule_is_githubs() -> None:
    assert slug("Revisions as edits: `--edit-format`") == "revisions-as-edits---edit-format"
    assert slug("Trying it yourself: `/run`") == "trying-it-yourself-run"
    assert slug("`OAI_CONFIG_LIST` entries") == "oai_config_list-entries"
    assert slug("One session, walked through") == "one-session-walked-through"
    page = "# Notes\n## Notes\n```\n# not a heading\n```\n## Notes\n"
    assert anchors(page) == {"notes", "notes-1", "notes-2"}


def test_a_broken_link_is_found() -> None:
    page = DOCS[0]
    assert broken(Link(page, 1, "missing.md")) is not None
    assert broken(Link(page, 1, "../README.md#no-such-heading")) is not None
    assert broken(Link(page, 1, "../README.md#configure-a-model")) is None


def test_every_relative_link_resolves() -> None:
    assert DOCS, "docs/ holds no pages"
    found = [link for page in PAGES for link in links(page)]
    assert len(found) > len(DOCS)
    assert [reason for link in found if (reason := broken(link))] == []


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(ROOT / link.target.partition("#")[0]).resolve() for link in links(README)}
    orphans = [page.relative_to(ROOT).as_posix() for page in DOCS if page not in linked]
    assert orphans == [], "link each docs page from the README's list of pages"


def test_every_docs_page_opens_with_a_summary_that_links_back_to_the_readme() -> None:
    for page in DOCS:
        title, summary = page.read_text().split("\n\n")[:2]
        assert title.startswith("# ") and "\n" not in title, f"{page.name}: open with a title"
        assert not summary.startswith("#"), f"{page.name}: a summary paragraph after the title"
        assert "(../README.md" in summary, f"{page.name}: the summary links back to the README"


def test_the_readme_is_a_front_door() -> None:
    lines = len(README.read_text().splitlines())
    assert lines <= README_MOST_LINES, f"README.md has {lines} lines; move the reference into docs/"


def table_rows(text: str, header: str) -> list[list[str]]:
    """The cells of each row of the Markdown table whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_the_readme_table_of_commands_is_the_codes() -> None:
    header = "| you type | at the plan and test prompts | at your turn on a version |"
    rows = table_rows(README.read_text(), header)
    commands = {match.group(1): row for row in rows if (match := re.match(r"`(/[\w-]+)", row[0]))}
    at_drafts = {name for name, row in commands.items() if row[1] != "–"}
    at_versions = {name for name, row in commands.items() if row[2] != "–"}
    assert at_drafts == {command.name for command in draft_answers.COMMANDS}
    assert at_versions == {command.name for command in manager.COMMANDS}


def test_the_table_of_exit_codes_is_the_codes() -> None:
    rows = table_rows((ROOT / "docs" / "automation.md").read_text(), "| code | meaning |")
    codes = {ending.exit_code for ending in endings.ENDINGS.values()} | {endings.EXIT_READER_GONE}
    assert {int(row[0]) for row in rows} == codes
