"""The alliance's records: backup and restore, retention of what the list keeps, and the
data protection rights of a person (export and erasure)."""
