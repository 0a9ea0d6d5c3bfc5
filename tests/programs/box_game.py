"""A full-screen game in the terminal: a box with the score; each arrow key scores a point; q quits."""

import curses

ARROWS = (curses.KEY_UP, curses.KEY_DOWN, curses.KEY_LEFT, curses.KEY_RIGHT)


def score_after(score, key):
    """The score after ``key``: an arrow scores a point."""
    return score + 1 if key in ARROWS else score


def draw(window, score):
    window.erase()
    window.border()
    window.addstr(1, 2, f"Score: {score}")
    window.addstr(2, 2, "Arrows score a point, q quits.")
    window.refresh()


def play(window):
    curses.curs_set(0)
    window.keypad(True)
    score = 0
    while True:
        draw(window, score)
        key = window.getch()
        if key == ord("q"):
            return score
        score = score_after(score, key)


def main():
    score = curses.wrapper(play)
    print(f"Final score: {score}")


if __name__ == "__main__":
    main()
