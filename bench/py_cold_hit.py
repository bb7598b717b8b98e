"""One Python process, one cached call, exit: the cold-process anchors of docs/PERFORMANCE.md.

    python3 bench/py_cold_hit.py joblib|diskcache DIR

Imports only what the call needs, like a user's script would. Run once first so the call hits.
"""
import sys


def mul_add(a, b):
    return a * b + 3.0


def main():
    which, location = sys.argv[1], sys.argv[2]
    if which == "joblib":
        import joblib

        cached = joblib.Memory(location, verbose=0).cache(mul_add)
    elif which == "diskcache":
        import diskcache

        cached = diskcache.Cache(location).memoize()(mul_add)
    else:
        sys.exit("usage: py_cold_hit.py joblib|diskcache DIR")
    sys.exit(0 if cached(1.5, 2.5) == 1.5 * 2.5 + 3.0 else 1)


if __name__ == "__main__":
    main()
