"""``akn-mail serve``: the SMTP/LMTP ingress and the delivery worker.

The serving process runs only the edge: an asyncio loop with the ingress (aiosmtpd on
``[ingress] host:port``) and the spool's group committer. A worker process (started by
it, stopped with it) does the CPU-heavy work in two threads, each with its own SQLite
connection: the processor (spool -> pipeline -> queue) and the deliverer (queue -> relay
or outbox). Keeping them apart means parsing and indexing never slow down the SMTP
sessions (one Python process would share one GIL). The worker first processes every spool
segment a crash left behind, so nothing answered with 250 is lost; afterwards the edge
announces each new durable segment through a pipe, and the worker looks about once a second
for segments other processes wrote (``akn-mail held approve`` hands approved mail back this
way, so only the worker writes posts into the archive, the index and the queue).
This module only runs processes; what they do lives in edge/, pipeline/ and delivery/.

Stopping (SIGTERM, Ctrl-C, ``stop()``): stop listening, let sessions finish their current
spool write, let the processor finish the entry in hand (the rest stays in the spool), let
each sending connection finish its current SMTP transaction and record it; deliveries not
attempted stay due in the queue. Everything resumes on the next start.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import multiprocessing
import os
import queue as queue_module
import signal
import threading
import time
from pathlib import Path
from typing import Any

from akn_mail import db as db_module
from akn_mail import logs
from akn_mail.config import Config
from akn_mail.delivery.deliverer import Deliverer
from akn_mail.delivery.worker import DeliveryWorker
from akn_mail.edge.ingress import IngressHandler, server_factory
from akn_mail.edge.spool import GroupCommitter, Spool
from akn_mail.pipeline.processor import Processor
from akn_mail.records.retention import RetentionWorker
from akn_mail.services import Services

log = logging.getLogger("akn_mail.service")

WORKER_NICENESS = 5
# How often the worker looks for spool segments nobody announced (written by the CLI).
SPOOL_SCAN_SECONDS = 1.0
LOCK_NAME = "worker.lock"


def worker_running(config: Config) -> bool:
    """Whether a serve worker holds this data directory (``<data_dir>/worker.lock``)."""
    path = Path(config.data_dir) / LOCK_NAME
    if not path.exists():
        return False
    with open(path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


class Service:
    """Ingress (this process) + worker process (processor, deliverer); ``await start()``, ``await stop()``."""

    def __init__(self, config: Config, *, resolver: Any = None, setup_logging: bool = False):
        self.config = config
        self.resolver = resolver
        self.setup_logging = setup_logging
        self.spool = Spool(config.spool_dir)
        self.server: asyncio.AbstractServer | None = None
        self.committer: GroupCommitter | None = None
        self.worker: multiprocessing.process.BaseProcess | None = None
        self.channel = None
        self.port: int | None = None

    async def start(self) -> None:
        config = self.config
        db_module.connect(config.database_path).close()  # migrate once, before the worker opens its own
        self.spool.remove_partial()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._start_worker)
        self.committer = GroupCommitter(self.spool, on_written=self._hand_over)
        self.committer.start()
        handler = IngressHandler(config, self.committer, lmtp=config.ingress.protocol == "lmtp")
        self.server = await loop.create_server(server_factory(config, handler), config.ingress.host, config.ingress.port)
        self.port = self.server.sockets[0].getsockname()[1]
        log.info(
            "serving protocol=%s address=%s:%s list=%s",
            config.ingress.protocol.upper(), config.ingress.host, self.port, config.list.address,
        )
        log.info("%s", Deliverer.describe_config(config))

    def _start_worker(self) -> None:
        self._spawn_worker()
        self._announcements: queue_module.SimpleQueue = queue_module.SimpleQueue()
        self._stopping = threading.Event()
        self._messenger = threading.Thread(target=self._announce, name="akn-announce", daemon=True)
        self._messenger.start()

    def _spawn_worker(self) -> None:
        # "spawn": a fresh interpreter, not a fork of a process that has threads.
        context = multiprocessing.get_context("spawn")
        self.channel, child = context.Pipe()
        self.worker = context.Process(
            target=run_worker, args=(self.config, child, self.resolver, self.setup_logging),
            name="akn-mail-worker", daemon=False,
        )
        self.worker.start()
        child.close()
        # Wait until the worker has taken over the spool left behind (crash recovery), so
        # segments written from now on are only ever announced through the channel.
        if not self.channel.poll(120) or self.channel.recv() != "ready":
            raise RuntimeError("the akn-mail worker process did not start")

    def _hand_over(self, entries: list) -> None:
        """A segment is durable: have the worker told its name (it reads it from disk).

        Called in the event loop; the pipe write happens in the announcing thread, so a
        busy worker can never block the SMTP sessions.
        """
        if entries:
            self._announcements.put(entries[0].segment)

    def _announce(self) -> None:
        """Send segment names to the worker; restart the worker if it died."""
        while not self._stopping.is_set():
            try:
                name = self._announcements.get(timeout=1.0)
            except queue_module.Empty:
                name = None
            if not self.worker.is_alive() and not self._stopping.is_set():
                log.error("worker process exited (code %s); starting a new one, which takes over the spool",
                          self.worker.exitcode)
                self.channel.close()
                time.sleep(1.0)
                try:
                    self._spawn_worker()  # its recovery finds every segment, also this one
                except Exception:
                    log.exception("starting the worker failed; mail stays in the spool")
                continue
            if name is not None:
                try:
                    self.channel.send(name)
                except (OSError, ValueError):
                    pass  # the worker is gone; the next round restarts it and it recovers the spool

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
        if self.worker is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._stop_worker)
        log.info("stopped")

    def _stop_worker(self) -> None:
        # Announce what is still waiting, then tell the worker to stop.
        self._stopping.set()
        self._messenger.join(5)
        while True:
            try:
                name = self._announcements.get_nowait()
            except queue_module.Empty:
                break
            try:
                self.channel.send(name)
            except (OSError, ValueError):
                break
        try:
            self.channel.send(None)
        except (OSError, ValueError):
            pass
        self.worker.join(120)
        if self.worker.is_alive():  # pragma: no cover - a stuck relay connection beyond every timeout
            log.error("worker did not stop in time; terminating it (undelivered mail stays queued)")
            self.worker.terminate()
            self.worker.join(10)
        self.channel.close()

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


class _Stop(Exception):
    """Raised by the worker's signal handler to leave its blocking read."""


def _die_with_parent() -> None:
    """Linux: if the serving process is killed (kill -9), the worker goes too."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the pipe's end-of-file stops the worker
        pass


def run_worker(config: Config, channel, resolver: Any = None, setup_logging: bool = False) -> None:
    """The worker process: spool segments -> pipeline -> queue -> relay.

    It runs the CPU-heavy part (parsing, archiving, indexing, sending) apart from the SMTP
    edge, so that the edge's event loop never waits for the GIL. An exclusive lock on
    ``<data_dir>/worker.lock`` makes sure that only one worker ever processes a data
    directory (a new one waits for an old one to finish its last transaction).
    """
    _die_with_parent()
    # The edge answers SMTP sessions; the worker catches up behind the durable spool. Under
    # CPU pressure the edge goes first, so bursts are absorbed instead of slowed down.
    try:
        os.nice(WORKER_NICENESS)
    except OSError:
        pass
    if setup_logging:
        logs.setup(config)

    def stop(signum, frame):
        raise _Stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which tells us
    lock = open(Path(config.data_dir) / LOCK_NAME, "a+")
    fcntl.flock(lock, fcntl.LOCK_EX)
    wakeup = threading.Event()
    spool = Spool(config.spool_dir)
    # One Services per SQLite connection: the processing thread's and the delivery thread's.
    processor = Processor(Services(config, wakeup=wakeup, resolver=resolver), spool)
    recovered = processor.recover()
    if recovered:
        log.info("spool recovery segments=%d", recovered)
    # Posts filed before a crash or stop but not yet indexed are searchable now, not only
    # after the next post wakes the indexer (a new indexer starts with a catch-up run).
    # Imported here: the archive loads whoosh, which the SMTP edge process never needs.
    from akn_mail.archive.indexer import BackgroundIndexer

    BackgroundIndexer.for_config(config, wakeup=wakeup).notify()
    # A warm searcher for `akn-mail search` (archive.search_server); searching never writes.
    from akn_mail.archive.search_server import SearchServer

    try:
        searcher = SearchServer(config).start()
    except OSError as error:
        log.warning("search server not started: %s", error)
        searcher = None
    processor.start()
    deliveries = DeliveryWorker(Services(config, wakeup=wakeup, resolver=resolver))
    deliveries.start()
    retention = RetentionWorker(config)  # [retention]: daily removal of what outlived its lifetime
    retention.start()
    channel.send("ready")
    try:
        while True:
            if not channel.poll(SPOOL_SCAN_SECONDS):
                processor.recover()  # segments written by other processes (approved held mail)
                continue
            try:
                name = channel.recv()
            except EOFError:  # the serving process is gone
                break
            if name is None:
                break
            processor.submit(name)  # once: recovery may have found it already
    except _Stop:
        pass
    if searcher is not None:
        searcher.stop()
    processor.stop()
    deliveries.stop()
    retention.stop()
    lock.close()


class ThreadedService:
    """The service on its own event loop in a thread (tests, benchmarks)."""

    def __init__(self, config: Config, *, resolver: Any = None, setup_logging: bool = False):
        self.service = Service(config, resolver=resolver, setup_logging=setup_logging)
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
