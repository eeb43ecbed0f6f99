"""The roster: members and their contacts, roster files, the host rotation, quarters and
the calendar export."""
