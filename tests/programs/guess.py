"""Guess the number: the program picks a number from 1 to 100, the player guesses, it says higher or lower."""

import random
import sys


def hint(secret, guess):
    """'higher', 'lower' or 'correct'."""
    if guess < secret:
        return "higher"
    if guess > secret:
        return "lower"
    return "correct"


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else None
    secret = random.Random(seed).randint(1, 100)
    tries = 0
    while True:
        text = input("Your guess: ")
        if not text.strip().isdigit():
            print("Please type a whole number.")
            continue
        tries += 1
        answer = hint(secret, int(text))
        print(answer)
        if answer == "correct":
            print(f"You got it in {tries} tries.")
            return


if __name__ == "__main__":
    main()
