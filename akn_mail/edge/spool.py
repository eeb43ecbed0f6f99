"""The spool: what the SMTP/LMTP edge has answered 250 for, kept durably until processed.

Received messages are written into *segment* files under ``<data_dir>/spool``; a segment
holds one or more entries (message, envelope sender, recipients, route). The ingress does
not answer 250 before the segment holding its message is durable:

1. write the segment to ``<name>.tmp`` and ``fsync`` the file: its bytes are on disk;
2. ``rename`` it to ``<name>.seg``: readers see a segment whole or not at all;
3. ``fsync`` the spool directory: the new name itself is on disk (without this a crash can
   forget the rename, and with it the message, although the data blocks were written).

Only then is the 250 sent. A crash before step 3 leaves at most a ``.tmp`` file, whose
sender got no 250 and will retry; it is deleted on start-up.

Group commit: ``GroupCommitter`` collects the messages that concurrent sessions hand in
while the previous segment is being synced, and writes them as one segment: two fsyncs
per *group* instead of two per message, which is what lets ingest keep up with a no-op
server. An entry is removed only after the pipeline's outcome for it is committed to
SQLite (the ``received`` table); a segment file is deleted when all its entries are done.
On start-up every leftover segment is read again and its unfinished entries processed.
Other processes (``akn-mail held approve``) write segments too; the serve worker looks for
segments nobody announced about once a second.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from akn_mail.files import fsync_directory, make_directory

log = logging.getLogger("akn_mail.spool")

MAGIC = b"AKNSPOOL1\n"
SUFFIX = ".seg"


@dataclass
class Entry:
    """One received message for one route (post, bounces, request, owner)."""

    mail_from: str
    rcpt_tos: list[str]
    route: str
    data: bytes
    received_at: float = field(default_factory=time.time)
    id: str = ""          # "<segment>.<index>", set when written
    segment: str = ""     # the segment file name
    held_id: int | None = None  # set when a moderator approved this held message (it skips the sender check)


class SpoolError(Exception):
    """A segment cannot be read (it is moved aside, never deleted)."""


class Spool:
    """Segment files in one directory; writing them is synchronous (run it in a thread)."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        make_directory(self.directory / "corrupt")
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def write(self, entries: list[Entry]) -> str:
        """Write ``entries`` as one durable segment (see the module docstring); return its name."""
        with self._lock:
            number = next(self._counter)
        name = f"{time.time_ns():020d}-{os.getpid()}-{number}{SUFFIX}"
        chunks = [MAGIC]
        for index, entry in enumerate(entries):
            entry.segment = name
            entry.id = f"{name[:-len(SUFFIX)]}.{index}"
            meta = json.dumps({
                "id": entry.id, "mail_from": entry.mail_from, "rcpt_tos": entry.rcpt_tos,
                "route": entry.route, "received_at": entry.received_at,
                **({"held_id": entry.held_id} if entry.held_id is not None else {}),
            }).encode("utf-8")
            chunks.append(b"%d %d\n" % (len(meta), len(entry.data)))
            chunks.append(meta)
            chunks.append(entry.data)
            chunks.append(b"\n")
        tmp = self.directory / (name + ".tmp")
        final = self.directory / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, chunks)
            os.fsync(fd)                       # 1. the data is on disk
        finally:
            os.close(fd)
        os.rename(tmp, final)                  # 2. atomically visible under its final name
        fsync_directory(self.directory)        # 3. the name is on disk: now 250 may be sent
        return name

    def segments(self) -> list[str]:
        """Names of the segments on disk, oldest first."""
        return sorted(path.name for path in self.directory.iterdir() if path.name.endswith(SUFFIX))

    def remove_partial(self) -> int:
        """Delete ``.tmp`` files a crash left behind (call before accepting mail).

        Their senders never got a 250 (the rename had not happened), so they retry.
        """
        removed = 0
        for path in self.directory.iterdir():
            if path.name.endswith(".tmp"):
                log.warning("spool removing unacknowledged partial file %s", path.name)
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def read(self, name: str) -> list[Entry]:
        """The entries of one segment; a damaged segment is moved to ``corrupt/``."""
        path = self.directory / name
        data = path.read_bytes()
        try:
            return list(_parse(data, name))
        except (ValueError, KeyError, json.JSONDecodeError) as error:
            target = self.directory / "corrupt" / name
            os.replace(path, target)
            raise SpoolError(f"spool segment {name} is damaged ({error}); moved to {target}") from None

    def remove(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)

    def count(self) -> int:
        return sum(1 for path in self.directory.iterdir() if path.name.endswith(SUFFIX))


def _write_all(fd: int, chunks: list[bytes]) -> None:
    view = memoryview(b"".join(chunks))
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _parse(data: bytes, name: str):
    if not data.startswith(MAGIC):
        raise ValueError("no spool header")
    position = len(MAGIC)
    while position < len(data):
        end = data.index(b"\n", position)
        meta_length, data_length = (int(part) for part in data[position:end].split(b" "))
        position = end + 1
        meta = json.loads(data[position:position + meta_length])
        position += meta_length
        body = data[position:position + data_length]
        if len(body) != data_length:
            raise ValueError("truncated entry")
        position += data_length
        if data[position:position + 1] != b"\n":
            raise ValueError("entry not terminated")
        position += 1
        yield Entry(meta["mail_from"], list(meta["rcpt_tos"]), meta["route"], body,
                    float(meta["received_at"]), meta["id"], name, meta.get("held_id"))


class GroupCommitter:
    """Turns many concurrent ``put`` calls into few durable segment writes.

    Each SMTP session awaits ``put``; a single writer task takes everything that queued up
    while the previous write was syncing and writes it as one segment in a worker thread
    (fsync blocks, the event loop must not). When the write returns, every session of that
    group is answered at once. ``on_written`` is called (in the loop) with the entries, to
    hand them to the pipeline.
    """

    def __init__(self, spool: Spool, on_written=None, max_group: int = 256):
        self.spool = spool
        self.on_written = on_written
        self.max_group = max_group
        self._waiting: list[tuple[list[Entry], asyncio.Future]] = []
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self.groups = 0      # for the bench: segments written
        self.messages = 0    # entries written

    def start(self) -> None:
        self._event = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def put(self, entries: list[Entry]) -> str:
        """Return once ``entries`` are durable (raises if writing failed: answer 451)."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((entries, future))
        self._event.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._event.wait()
            self._event.clear()
            while self._waiting:
                group, self._waiting = self._waiting[: self.max_group], self._waiting[self.max_group:]
                entries = [entry for batch, _ in group for entry in batch]
                try:
                    name = await loop.run_in_executor(None, self.spool.write, entries)
                except Exception as error:  # disk full, permissions: every waiting session gets 451
                    log.error("spool write failed entries=%d error=%s", len(entries), error)
                    for _, future in group:
                        if not future.done():
                            future.set_exception(error)
                    continue
                self.groups += 1
                self.messages += len(entries)
                for _, future in group:
                    if not future.done():
                        future.set_result(name)
                if self.on_written is not None:
                    try:
                        self.on_written(entries)
                    except Exception:
                        log.exception("spool hand-over failed (entries stay in the spool)")
