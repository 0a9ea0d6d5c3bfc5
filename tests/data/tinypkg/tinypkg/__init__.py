"""A package made by the tests: a program that declares it gets it in its environment."""

GREETING = "hello from tinypkg"


def greet(name: str) -> str:
    return f"{GREETING}, {name}"
