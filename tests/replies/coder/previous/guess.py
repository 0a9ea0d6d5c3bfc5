"""Guess the number: the computer picks, you guess."""

import argparse
import random


def pick_number(low, high, rng=random):
    """A random whole number between low and high, both included."""
    return rng.randint(low, high)


def parse_guess(text):
    """The guess as an int, or None when the text is not a whole number."""
    try:
        return int(text.strip())
    except ValueError:
        return None


def check_guess(guess, secret):
    if guess < secret:
        return "too low"
    if guess > secret:
        return "too high"
    return "correct"


def play(secret, low=1, high=100, input_fn=input, output_fn=print):
    """Ask for guesses until the secret is found; return the number of guesses."""
    attempts = 0
    while True:
        guess = parse_guess(input_fn(f"Your guess ({low}-{high}): "))
        if guess is None:
            output_fn("Please enter a whole number.")
            continue
        attempts += 1
        result = check_guess(guess, secret)
        if result == "correct":
            output_fn(f"Correct! You got it in {attempts} guesses.")
            return attempts
        output_fn(f"Too {result.split()[1]}!")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Guess the number.")
    parser.add_argument("--max", type=int, default=100, help="the highest possible number")
    args = parser.parse_args(argv)
    secret = pick_number(1, args.max)
    try:
        play(secret, 1, args.max)
    except (EOFError, KeyboardInterrupt):
        print("\nBye!")


if __name__ == "__main__":
    main()
