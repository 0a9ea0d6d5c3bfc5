"""A stack that reports its minimum in O(1)."""


class MinStack:
    """LIFO stack keeping, for every level, the minimum of the items up to it."""

    def __init__(self):
        self._items = []
        self._mins = []

    def push(self, x):
        self._items.append(x)
        if self._mins and self._mins[-1] < x:
            self._mins.append(self._mins[-1])
        else:
            self._mins.append(x)

    def pop(self):
        if not self._items:
            raise IndexError("pop from empty stack")
        self._mins.pop()
        return self._items.pop()

    def peek(self):
        if not self._items:
            raise IndexError("peek at empty stack")
        return self._items[-1]

    def get_min(self):
        if not self._mins:
            raise IndexError("min of empty stack")
        return self._mins[-1]

    def is_empty(self):
        return not self._items

    def __len__(self):
        return len(self._items)


if __name__ == "__main__":
    stack = MinStack()
    for value in (5, 3, 7, 1):
        stack.push(value)
        print(f"push {value}: min={stack.get_min()}")
