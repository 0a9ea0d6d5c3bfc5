"""One generation of Conway's Game of Life on a finite, non-wrapping grid."""

OFFSETS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def live_neighbors(grid, row, col):
    """Count live cells among the 8 neighbours of (row, col); outside cells are dead."""
    count = 0
    for dr, dc in OFFSETS:
        r, c = row + dr, col + dc
        if 0 <= r < len(grid) and 0 <= c < len(grid[r]):
            count += 1 if grid[r][c] else 0
    return count


def step(grid):
    """Return the next generation as a new grid; the input is not modified."""
    new_grid = []
    for r, line in enumerate(grid):
        new_row = []
        for c, cell in enumerate(line):
            n = live_neighbors(grid, r, c)
            alive = n == 3 or (cell and n == 2)
            new_row.append(1 if alive else 0)
        new_grid.append(new_row)
    return new_grid


def render(grid):
    return "\n".join("".join("#" if cell else "." for cell in row) for row in grid)


if __name__ == "__main__":
    board = [[0, 1, 0, 0, 0], [0, 0, 1, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]]
    for generation in range(4):
        print(f"generation {generation}:\n{render(board)}\n")
        board = step(board)
