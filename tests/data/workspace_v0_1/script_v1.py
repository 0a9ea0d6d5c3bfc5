# marker-script-v1
import sys

VERSION = 1

def count_words(text):
    return len(text.split())


def main():
    print(count_words(open(sys.argv[1]).read()))


if __name__ == "__main__":
    main()
