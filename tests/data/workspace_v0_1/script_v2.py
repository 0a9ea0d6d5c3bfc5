# marker-script-v2
import sys


def count_words(text):
    return len(text.split())


def count_lines(text):
    return len(text.splitlines())


def main():
    if len(sys.argv) < 2:
        print('usage: count FILE')
        return 2
    print(count_words(open(sys.argv[1]).read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
