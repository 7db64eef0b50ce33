"""`python -m swegym`."""

from swegym.cli.app import main

main()
