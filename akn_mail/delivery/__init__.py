"""Delivery: the SQLite queue of (message, recipient) rows, the deliverer that sends them
through the relay or into the outbox, the worker thread that runs it, and bounce handling."""
