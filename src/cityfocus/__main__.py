"""``python -m cityfocus`` runs the command line."""

from cityfocus.cli import main

main()
