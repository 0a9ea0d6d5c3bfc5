"""Merge overlapping intervals and measure the length they cover."""


def merge_intervals(intervals):
    """Return sorted (start, end) tuples with overlapping or touching intervals merged."""
    pairs = []
    for start, end in intervals:
        if start > end:
            raise ValueError(f"interval start {start} is after end {end}")
        pairs.append((start, end))
    pairs.sort()
    merged = []
    for start, end in pairs:
        if merged and start <= merged[-1][1]:
            last_start, last_end = merged[-1]
            merged[-1] = (last_start, max(last_end, end))
        else:
            merged.append((start, end))
    return merged


def total_covered(intervals):
    """Total length of the union of the intervals."""
    return sum(end - start for start, end in merge_intervals(intervals))


if __name__ == "__main__":
    sample = [(8, 10), (1, 3), (2, 6), (15, 18), (6, 7)]
    print(merge_intervals(sample), total_covered(sample))
