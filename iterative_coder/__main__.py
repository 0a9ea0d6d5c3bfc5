"""``python -m iterative_coder``."""

import sys

from . import endings
from .cli import main

if __name__ == "__main__":
    endings.EXIT_WATCHDOG = True
    code = main()
    endings.exit_if_still_running(code)  # a thread that never ends must not keep the process alive
    sys.exit(code)
