"""/help comes from the Manager's command table, so the help can never disagree with the commands."""

from __future__ import annotations

from pathlib import Path

from drive import run_loop
from scripted import review, script

from iterative_coder.manager import COMMANDS


def test_help_lists_every_command_of_the_table_and_what_enter_does(fake_server, tmp_path: Path) -> None:
    fake_server.enqueue("coder", script(1), script(2))
    fake_server.enqueue("reviewer", review(1, "REVISE"), review(2, "APPROVE"))
    _, _, ui = run_loop(fake_server, tmp_path, ["/help", "", "/help", "/stop"])
    revise_help, approve_help = [text for text in ui.texts("info") if "any other text: feedback" in text]
    for command in COMMANDS:
        assert f"{command.usage}: {command.help}" in revise_help
    assert revise_help.startswith("Enter: go on")
    assert approve_help.startswith("Enter: accept v2 as final")  # on an approving review, Enter accepts
