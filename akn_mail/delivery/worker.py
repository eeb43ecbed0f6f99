"""The delivery worker: one thread that runs delivery rounds for ``akn-mail serve``.

A round starts whenever something is queued (the queue's wake-up event) or a retry falls
due, and at the latest every ``[delivery] poll_seconds``. After a round that sent
anything, relay refusals are scored as bounces. It owns its SQLite connection (its own
``Services``, built by the serve worker process).
"""

from __future__ import annotations

import logging
import threading

from akn_mail.delivery.bounces import score_delivery_failures
from akn_mail.delivery.deliverer import Deliverer
from akn_mail.services import Services

log = logging.getLogger("akn_mail.delivery")


class DeliveryWorker:
    """The deliverer's thread: a round whenever mail is queued or a retry falls due."""

    def __init__(self, services: Services):
        """``services`` must own a connection for this thread and carry the queue's wake-up event."""
        self.services = services
        self.config = services.config
        self.wakeup = services.wakeup
        self.queue = services.queue
        self.deliverer = Deliverer(self.queue, self.config)
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name="akn-deliver", daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        self.stopping.set()
        self.deliverer.stopping.set()
        self.wakeup.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        poll = self.config.delivery.poll_seconds
        while not self.stopping.is_set():
            self.wakeup.clear()
            try:
                attempted = self.deliverer.deliver_due()
                if attempted:
                    self._score_failures()
            except Exception:
                log.exception("delivery round failed; retrying in %.1f s", poll)
                attempted = 0
            if attempted:
                continue  # more may have become due meanwhile
            due_in = self.queue.next_due_in()
            self.wakeup.wait(poll if due_in is None else min(poll, due_in))

    def _score_failures(self) -> None:
        """Let bounce handling score what our relay refused."""
        try:
            score_delivery_failures(self.services)
        except Exception:
            log.exception("scoring delivery failures failed")
