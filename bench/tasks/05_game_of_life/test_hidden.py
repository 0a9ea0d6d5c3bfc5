import copy

import script


def test_blinker_oscillates():
    horizontal = [[0, 0, 0], [1, 1, 1], [0, 0, 0]]
    vertical = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert script.step(horizontal) == vertical
    assert script.step(vertical) == horizontal


def test_block_is_still_life():
    block = [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]]
    assert script.step(block) == block


def test_lonely_cell_dies():
    assert script.step([[0, 0, 0], [0, 1, 0], [0, 0, 0]]) == [[0, 0, 0], [0, 0, 0], [0, 0, 0]]


def test_overcrowded_cell_dies_and_birth():
    grid = [[1, 1, 1], [1, 1, 0], [0, 0, 0]]
    # centre has 4 live neighbours -> dies; (1,2) has 3 -> born; (0,2) has 2 -> survives
    assert script.step(grid) == [[1, 0, 1], [1, 0, 1], [0, 0, 0]]


def test_live_neighbors_counts_without_wrapping():
    grid = [[1, 1, 0], [1, 0, 0], [0, 0, 1]]
    assert script.live_neighbors(grid, 0, 0) == 2
    assert script.live_neighbors(grid, 1, 1) == 4
    assert script.live_neighbors(grid, 2, 2) == 0
    assert script.live_neighbors(grid, 2, 0) == 1
    assert script.live_neighbors(grid, 0, 2) == 1


def test_input_not_modified_and_new_grid_returned():
    grid = [[0, 1, 0], [0, 1, 0], [0, 1, 0]]
    before = copy.deepcopy(grid)
    result = script.step(grid)
    assert grid == before
    assert result is not grid
    assert result[0] is not grid[0]


def test_non_square_grid_keeps_shape():
    grid = [[0, 1, 0, 0, 0], [0, 1, 0, 0, 0], [0, 1, 0, 0, 0]]
    result = script.step(grid)
    assert result == [[0, 0, 0, 0, 0], [1, 1, 1, 0, 0], [0, 0, 0, 0, 0]]


def test_no_wrap_around_at_edges():
    # A vertical blinker on the left edge: on a torus the right column would be affected.
    grid = [[1, 0, 0, 0], [1, 0, 0, 0], [1, 0, 0, 0]]
    assert script.step(grid) == [[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]]


def test_glider_moves_diagonally():
    grid = [[0] * 6 for _ in range(6)]
    for r, c in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]:
        grid[r][c] = 1
    for _ in range(4):
        grid = script.step(grid)
    alive = {(r, c) for r in range(6) for c in range(6) if grid[r][c]}
    assert alive == {(1, 2), (2, 3), (3, 1), (3, 2), (3, 3)}


def test_empty_grid():
    assert script.step([]) == []
