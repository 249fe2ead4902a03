"""``python -m seek`` runs the command line."""

from seek.cli import main

main()
