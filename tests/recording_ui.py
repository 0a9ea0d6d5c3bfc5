"""A UI for tests: it records what would be shown and answers prompts from a script."""

from __future__ import annotations

from collections.abc import Sequence


class _View:
    def __init__(self, ui: RecordingUI, role: str, activity: str) -> None:
        self.ui = ui
        self.ui.events.append(("working", f"{role} {activity}"))

    def chunk(self, text: str) -> None:
        self.ui.streamed += text

    def __enter__(self) -> _View:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class RecordingUI:
    """Implements iterative_coder.ui.UI; ``answers`` are typed in order, then input ends."""

    def __init__(self, answers: Sequence[str] = ()) -> None:
        self.answers = list(answers)
        self.events: list[tuple[str, str]] = []
        self.streamed = ""

    def info(self, text: str) -> None:
        self.events.append(("info", text))

    def warn(self, text: str) -> None:
        self.events.append(("warn", text))

    def show_markdown(self, title: str, text: str) -> None:
        self.events.append(("markdown", f"{title}\n{text}"))

    def show_code(self, title: str, code: str) -> None:
        self.events.append(("code", f"{title}\n{code}"))

    def show_diff(self, old_name: str, old: str, new_name: str, new: str) -> None:
        self.events.append(("diff", f"{old_name} -> {new_name}"))

    def show_result(self, title: str, text: str, ok: bool) -> None:
        self.events.append(("result", f"{title}: {text}"))

    def status(self, text: str) -> None:
        self.events.append(("status", text))

    def working(self, role: str, activity: str) -> _View:
        return _View(self, role, activity)

    def ask(self, prompt: str) -> str | None:
        self.events.append(("ask", prompt))
        return self.answers.pop(0) if self.answers else None

    def show_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.events.append(("table", "\n".join(" | ".join(row) for row in rows)))

    def texts(self, kind: str) -> list[str]:
        """Everything shown of one kind, in order."""
        return [text for event, text in self.events if event == kind]
