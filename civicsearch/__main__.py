"""``python -m civicsearch`` runs the command-line tool."""

from civicsearch.launch import main

main()
