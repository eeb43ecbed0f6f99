"""akn-mail: the mailing list and minutes archive of the Allianz für Klima und Nachhaltigkeit."""

__version__ = "0.1.0"
