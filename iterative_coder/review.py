"""The Reviewer's reply becomes ``review_vN.md``: a verdict line first, then its points."""

from __future__ import annotations

import re
from dataclasses import dataclass

APPROVE = "APPROVE"
REVISE = "REVISE"

_VERDICT_LINE = re.compile(r"^\W*verdict\W*\s*(approve|revise)\b\W*$", re.IGNORECASE)
_BARE_VERDICT = re.compile(r"^\W*(approve|revise)\W*$", re.IGNORECASE)


@dataclass(frozen=True)
class Review:
    """A parsed review."""

    verdict: str
    body: str
    verdict_found: bool = True

    def render(self) -> str:
        """The text of ``review_vN.md``."""
        body = self.body.strip()
        return f"Verdict: {self.verdict}\n\n{body}\n" if body else f"Verdict: {self.verdict}\n"


def parse_review(reply: str) -> Review:
    """Find the verdict line (``Verdict: APPROVE`` / ``REVISE``, any case or emphasis) and keep the rest.

    A reply without a verdict counts as REVISE: nothing is approved by accident.
    """
    lines = reply.strip().splitlines()
    for index, line in enumerate(lines):
        match = _VERDICT_LINE.match(line.strip()) or (index == 0 and _BARE_VERDICT.match(line.strip()))
        if match:
            body = "\n".join(lines[:index] + lines[index + 1 :])
            return Review(verdict=match.group(1).upper(), body=body)
    return Review(verdict=REVISE, body=reply.strip(), verdict_found=False)


def verdict_of(review_text: str | None) -> str | None:
    """The verdict of a saved review file, or None."""
    if not review_text:
        return None
    first = review_text.strip().splitlines()[0] if review_text.strip() else ""
    match = _VERDICT_LINE.match(first.strip())
    return match.group(1).upper() if match else None
