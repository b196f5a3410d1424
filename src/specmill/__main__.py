"""`python -m specmill` is the `specmill` command."""

from specmill.cli.app import main

main()
