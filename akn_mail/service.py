"""``akn-mail serve``: the SMTP/LMTP ingress and the delivery worker in one process.

The asyncio loop runs the ingress (aiosmtpd protocol on ``[ingress] host:port``) and the
spool's group committer. Two threads do the blocking work, each with its own SQLite
connection: the processor (spool -> pipeline -> queue) and the deliverer (queue ->
relay or outbox). Start-up first queues every spool segment a crash left behind, so
nothing answered with 250 is lost.

Stopping (SIGTERM, Ctrl-C, ``stop()``): stop listening, let sessions finish their current
spool write, let the processor finish the entry in hand (the rest stays in the spool), let
each sending connection finish its current SMTP transaction and record it; deliveries not
attempted stay due in the queue. Everything resumes on the next start.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from typing import Any

from . import db as db_module
from .config import Config
from .delivery import Deliverer, DeliveryQueue
from .ingress import IngressHandler, server_factory
from .processor import Processor
from .spool import GroupCommitter, Spool

log = logging.getLogger("akn_mail.service")


class DeliveryWorker:
    """The deliverer's thread: a round whenever mail is queued or a retry falls due."""

    def __init__(self, config: Config, wakeup: threading.Event):
        self.config = config
        self.wakeup = wakeup
        self.db = db_module.connect(config.database_path)
        self.queue = DeliveryQueue(self.db, config, wakeup)
        self.deliverer = Deliverer(self.queue, config)
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
        """Let bounce handling score what our relay refused (if that part is installed)."""
        try:
            from .bounces import score_delivery_failures
        except ImportError:
            return
        try:
            from .roster import Roster

            score_delivery_failures(self.db, self.config, roster=Roster(self.db), queue=self.queue)
        except Exception:
            log.exception("scoring delivery failures failed")


class Service:
    """Ingress + processor + deliverer; ``await start()``, ``await stop()``."""

    def __init__(self, config: Config, *, resolver: Any = None):
        self.config = config
        self.resolver = resolver
        self.wakeup = threading.Event()
        self.spool = Spool(config.spool_dir)
        self.server: asyncio.AbstractServer | None = None
        self.processor: Processor | None = None
        self.worker: DeliveryWorker | None = None
        self.committer: GroupCommitter | None = None
        self.port: int | None = None

    async def start(self) -> None:
        config = self.config
        db_module.connect(config.database_path).close()  # migrate once, before the threads open theirs
        self.processor = Processor(config, self.spool, wakeup=self.wakeup, resolver=self.resolver)
        recovered = self.processor.recover()
        if recovered:
            log.info("spool recovery segments=%d", recovered)
        self.processor.start()
        self.worker = DeliveryWorker(config, self.wakeup)
        self.worker.start()
        self.committer = GroupCommitter(self.spool, on_written=self.processor.submit)
        self.committer.start()
        handler = IngressHandler(config, self.committer, lmtp=config.ingress.protocol == "lmtp")
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(server_factory(config, handler), config.ingress.host, config.ingress.port)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info(
            "serving protocol=%s address=%s:%s list=%s",
            config.ingress.protocol.upper(), config.ingress.host, self.port, config.list.address,
        )
        log.info("%s", self.worker.deliverer.describe())

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()  # no new connections
            try:
                await asyncio.wait_for(self.server.wait_closed(), 5)
            except asyncio.TimeoutError:
                pass
        if self.committer is not None:
            await asyncio.sleep(0)  # let a write in flight answer its sessions
            await self.committer.stop()
        loop = asyncio.get_running_loop()
        if self.processor is not None:
            await loop.run_in_executor(None, self.processor.stop)
        if self.worker is not None:
            await loop.run_in_executor(None, self.worker.stop)
        log.info("stopped")

    async def serve_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop cleanly."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread
                pass
        await stop.wait()
        log.info("stopping on signal")
        await self.stop()


class ThreadedService:
    """The service on its own event loop in a thread (tests, benchmarks)."""

    def __init__(self, config: Config, *, resolver: Any = None):
        self.service = Service(config, resolver=resolver)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="akn-serve", daemon=True)

    def start(self) -> "ThreadedService":
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.service.start(), self.loop).result(30)
        return self

    @property
    def port(self) -> int:
        return self.service.port

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.service.stop(), self.loop).result(120)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
