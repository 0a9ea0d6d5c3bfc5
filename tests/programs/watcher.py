"""Watch a folder and print a line each second with how many files it holds, until Ctrl-C."""

import os
import sys
import time


def count_files(folder):
    """How many files are directly in ``folder``."""
    return sum(1 for entry in os.scandir(folder) if entry.is_file())


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "."
    print(f"Watching {folder} (Ctrl-C to stop)", flush=True)
    seconds = 0
    try:
        while True:
            print(f"{seconds:3d} s: {count_files(folder)} files", flush=True)
            time.sleep(1)
            seconds += 1
    except KeyboardInterrupt:
        print("Stopped watching.")


if __name__ == "__main__":
    main()
