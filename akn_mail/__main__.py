"""``python -m akn_mail`` runs the command line, exactly as the ``akn-mail`` script does."""

from akn_mail.cli import main

main()
