"""The one exception family a user may see.

Library code raises a subclass of ``AknError`` with a sentence that names the problem
and the fix; the CLI turns it into ``Error: …`` and exit code 1 at its boundary. Anything
else that escapes is a bug.
"""


class AknError(Exception):
    """An expected failure with a message written for a person."""
