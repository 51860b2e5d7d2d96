"""`python -m mlscaffold` runs the CLI."""

from mlscaffold.cli import main

main()
