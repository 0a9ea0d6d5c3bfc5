"""/help comes from the Manager's command table, so the help can never disagree with the commands: one
command a line, with this version's names, and /fix-tests only when it has something to fix."""

from __future__ import annotations

from pathlib import Path

from drive import run_loop
from scripted import review, script

from iterative_coder.manager import COMMANDS
from iterative_coder.names import run_name, script_name
from iterative_coder.records.run import CommandRecord, DemoResult, RunRecord, kind_of, write_run


def helps(ui) -> list[list[str]]:
    """Each /help shown, as its lines."""
    return [text.splitlines() for text in ui.texts("info") if text.startswith("Enter ")]


def test_help_lists_the_commands_one_a_line_with_this_versions_names(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "APPROVE"))
    _, _, ui = run_loop(fake_server, tmp_path, ["/help", "/frob", "/run", "", "/help", "/stop"])
    revise_help, approve_help = helps(ui)
    shown = [command for command in COMMANDS if command.name != "/fix-tests"]  # the tests load
    assert len(revise_help) == 3 + len(shown)  # Enter, approval words, other text, each command
    for line, command in zip(revise_help[3:], shown, strict=True):
        assert line.startswith(command.usage + " ") and line.endswith(command.help.format(version=1))
    assert revise_help[0].split() == ["Enter", "go", "on", "to", "v2"]
    assert "runs/v1-manual/" in "\n".join(revise_help) and "/fix-tests" not in "\n".join(revise_help)
    assert approve_help[0].split() == ["Enter", "accept", "v2", "as", "final"]  # an approval: Enter accepts
    assert "runs/v2-manual/" in "\n".join(approve_help)
    assert ui.texts("warn") == ["Unknown command /frob; /help lists the commands."]  # one line, no help
    not_run = "Not run (--execute never). To allow it, resume with --execute ask or --execute always."
    assert not_run in ui.texts("info")


def test_fix_tests_is_offered_when_this_versions_run_could_not_load_the_tests(
    fake_server, tmp_path: Path
) -> None:
    fake_server.enqueue("coder", script(1))
    fake_server.enqueue("reviewer", review(1, "REVISE"))
    run_loop(fake_server, tmp_path, ["/stop"])
    error = "ModuleNotFoundError: No module named 'wc'"
    ran = CommandRecord("exit 0", 0, 0.1)
    demo = DemoResult("run with no arguments and no input", ran, kind_of(ran))
    run = RunRecord(1, (demo,), CommandRecord("exit 2", 2, 0.4), tests_unloadable=error)
    (tmp_path / run_name(1)).write_text(write_run(run, script_name(1)))  # as a run of v1 records it

    _, _, ui = run_loop(fake_server, tmp_path, ["/help", "/stop"])
    (shown,) = helps(ui)
    assert any(line.startswith("/fix-tests ") for line in shown)
    assert "/fix-tests" in ui.texts("ask")[0]
