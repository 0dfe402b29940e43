"""``python -m civicsearch`` runs the command-line tool."""

from civicsearch.cli import main

main()
