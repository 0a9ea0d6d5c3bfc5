"""Tic-tac-toe rules: who has won, and whose turn it is."""

LINES = [[(r, c) for c in range(3)] for r in range(3)]
LINES += [[(r, c) for r in range(3)] for c in range(3)]
LINES += [[(i, i) for i in range(3)], [(i, 2 - i) for i in range(3)]]


def validate(board):
    """Raise ValueError unless board is 3 strings of 3 characters from 'XO.'."""
    if not isinstance(board, (list, tuple)) or len(board) != 3:
        raise ValueError("board must have 3 rows")
    for row in board:
        if not isinstance(row, str) or len(row) != 3:
            raise ValueError("each row must be a string of 3 characters")
        if any(ch not in "XO." for ch in row):
            raise ValueError(f"invalid character in row {row!r}")


def winner(board):
    """Return 'X', 'O', 'draw', or None while the game is still going."""
    validate(board)
    for line in LINES:
        marks = {board[r][c] for r, c in line}
        if len(marks) == 1:
            mark = marks.pop()
            if mark != ".":
                return mark
    if all("." not in row for row in board):
        return "draw"
    return None


def next_player(board):
    """Return 'X' or 'O' for the player to move; X always starts."""
    validate(board)
    xs = sum(row.count("X") for row in board)
    os_ = sum(row.count("O") for row in board)
    if xs == os_:
        return "X"
    if xs == os_ + 1:
        return "O"
    raise ValueError(f"impossible counts: {xs} X and {os_} O")


if __name__ == "__main__":
    example = ["XOX", "OXO", "..X"]
    print("\n".join(example))
    print("winner:", winner(example))
