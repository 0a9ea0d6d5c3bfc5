"""iterative_coder: grow one Python program with AI agents, one reviewed version at a time."""

__version__ = "0.1.0"
