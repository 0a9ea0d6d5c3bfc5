import pytest
import script


def test_row_win():
    assert script.winner(["XXX", "OO.", "..."]) == "X"
    assert script.winner(["X.X", "...", "OOO"]) == "O"


def test_column_win():
    assert script.winner(["XO.", "XO.", ".OX"]) == "O"


def test_diagonal_wins():
    assert script.winner(["X.O", ".XO", "..X"]) == "X"
    assert script.winner(["X.O", "XO.", "O.X"]) == "O"


def test_draw():
    assert script.winner(["XOX", "XOO", "OXX"]) == "draw"


def test_game_in_progress_returns_none():
    assert script.winner(["...", "...", "..."]) is None
    assert script.winner(["XO.", "...", "..X"]) is None


def test_full_board_with_winner_is_not_draw():
    assert script.winner(["XOX", "OXO", "OXX"]) == "X"


def test_next_player():
    assert script.next_player(["...", "...", "..."]) == "X"
    assert script.next_player(["X..", "...", "..."]) == "O"
    assert script.next_player(["XO.", "...", "..."]) == "X"
    assert script.next_player(["XOX", "O..", "..."]) == "X"


def test_next_player_impossible_counts():
    with pytest.raises(ValueError):
        script.next_player(["O..", "...", "..."])
    with pytest.raises(ValueError):
        script.next_player(["XX.", "...", "..."])


def test_invalid_boards_raise():
    bad_boards = [
        ["...", "..."],
        ["....", "...", "..."],
        ["..", "...", "..."],
        ["XA.", "...", "..."],
        ["x..", "...", "..."],
    ]
    for board in bad_boards:
        with pytest.raises(ValueError):
            script.winner(board)
        with pytest.raises(ValueError):
            script.next_player(board)
