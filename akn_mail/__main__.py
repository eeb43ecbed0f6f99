"""``python -m akn_mail`` runs the command line, exactly as the ``akn-mail`` script does."""

from .cli import main

main()
