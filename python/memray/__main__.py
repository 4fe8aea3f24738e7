"""python3 -m memray ARGS: exec the memray binary with ARGS.

The binary is $MEMRAY_BIN if set, else PREFIX/bin/memray for the PREFIX
this package was installed under (PREFIX/lib/pythonX.Y/dist-packages/memray),
else `memray` on PATH. MEMRAY_PYTHON tells `memray run script.py` to use
this interpreter rather than /usr/bin/python3.
"""
import os
import shutil
import sys


def find_binary():
    explicit = os.environ.get("MEMRAY_BIN")
    if explicit:
        return explicit
    here = os.path.dirname(os.path.abspath(__file__))
    prefix = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(here))))
    beside = os.path.join(prefix, "bin", "memray")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("memray")


def main():
    binary = find_binary()
    if not binary:
        sys.stderr.write("memray: error: cannot find the memray program "
                         "(install it with 'make install', or set MEMRAY_BIN)\n")
        return 2
    env = dict(os.environ)
    env.setdefault("MEMRAY_PYTHON", sys.executable)
    try:
        os.execve(binary, ["memray"] + sys.argv[1:], env)
    except OSError as e:
        sys.stderr.write("memray: error: cannot run %s: %s\n" % (binary, e.strerror))
        return 2


if __name__ == "__main__":
    sys.exit(main())
