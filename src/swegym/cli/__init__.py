"""The `swegym` command line: a thin layer over the library."""
