"""memray (C): `python3 -m memray ...` runs the installed memray binary.

This package holds no profiler of its own: it finds the `memray` program
that `make install` put beside it and hands it the command line, so the
Python tool's command lines keep working. Scripts given to `memray run`
are run by the interpreter that runs this package.
"""
