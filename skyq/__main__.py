"""`python -m skyq ...` is the `skyq` command."""

from skyq.cli.main import main

main()
