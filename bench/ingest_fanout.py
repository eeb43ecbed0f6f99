#!/usr/bin/env python3
"""Benchmark of the list service: durable ingest and fan-out latency.

    .venv/bin/python bench/ingest_fanout.py            # full run (a few minutes)
    .venv/bin/python bench/ingest_fanout.py --quick    # fewer messages and repeats

1. Durable ingest: messages/s answered 250 by `akn-mail serve` (spool written, fsynced,
   renamed, directory fsynced) at 1, 4 and 16 concurrent sessions with 10 KB messages,
   beside baselines measured in the same run: an aiosmtpd server that answers 250 without
   storing anything, and Postfix's smtp-sink. The load comes from Postfix's smtp-source
   (C, so the client is not the bottleneck) when installed, else from an asyncio client.
   The sender is a contact, so every message runs the whole pipeline (archive included)
   in the same process while the next ones arrive.
2. Fan-out latency: time from the 250 of a post to the arrival of its last recipient at
   a sink (an aiosmtpd server in its own process that offers XVERP and PIPELINING like
   Postfix, so ``[delivery] verp = "auto"`` keeps batch_size recipients per transaction), for lists
   of 20, 1,000 and 10,000 recipients; median of several posts.

Every server runs in its own process on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SENDER = "bench0@member0.example"
LIST = "akn@lists.example"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise SystemExit(f"server on port {port} exited: {process.stdout.read() if process.stdout else ''}")
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on port {port}")


# --- helper servers (run as: ingest_fanout.py --noop PORT | --sink PORT) ---------------

def run_noop(port: int) -> None:
    """aiosmtpd answering 250 to everything, storing nothing: the ingest baseline."""
    from aiosmtpd.smtp import SMTP

    class Noop:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 OK"

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Noop(), hostname="noop.localhost", decode_data=False),
                                          "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def run_sink(port: int) -> None:
    """aiosmtpd sink offering XVERP and PIPELINING (as Postfix does); prints "<unix time> <recipients>" per message.

    aiosmtpd reads commands one after the other from its stream, so pipelined commands
    work; it just does not advertise the extension itself.
    """
    from aiosmtpd.smtp import SMTP

    out = sys.stdout

    class Sink:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            session.host_name = hostname
            return responses[:-1] + ["250-PIPELINING", "250-XVERP", responses[-1]]

        async def handle_DATA(self, server, session, envelope):
            out.write(f"{time.time():.6f} {len(envelope.rcpt_tos)}\n")
            out.flush()
            return "250 2.0.0 OK"

    class XverpSMTP(SMTP):
        async def smtp_MAIL(self, arg):
            if arg and arg.upper().endswith(" XVERP"):
                arg = arg[: -len(" XVERP")]
            await super().smtp_MAIL(arg)

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: XverpSMTP(Sink(), hostname="sink.localhost", decode_data=False), "127.0.0.1", port)
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class SinkProcess:
    """The sink in its own process; counts arrivals and remembers the last arrival time."""

    def __init__(self):
        self.port = free_port()
        self.process = subprocess.Popen([PYTHON, __file__, "--sink", str(self.port)], stdout=subprocess.PIPE,
                                        text=True, bufsize=1)
        self.count = 0
        self.last = 0.0
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        wait_port(self.port, self.process)

    def _read(self):
        for line in self.process.stdout:
            stamp, count = line.split()
            with self.changed:
                self.count += int(count)
                self.last = float(stamp)
                self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        with self.changed:
            while self.count < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise SystemExit(f"sink got {self.count} of {count} recipients")
                self.changed.wait(left)
            return self.last

    def stop(self):
        self.process.terminate()
        self.process.wait(10)


class PostfixSinkProcess:
    """Postfix's smtp-sink as the sink: each message is dumped to a file whose mtime is its
    arrival time and whose X-Rcpt-Args lines name its recipients. No XVERP here, so this
    sink is used with ``verp = "off"`` (the same transactions XVERP gives with Postfix)."""

    def __init__(self):
        self.port = free_port()
        # Its own directory under /tmp: smtp-sink runs as "nobody" when we are root.
        directory = self.directory = Path(tempfile.mkdtemp(prefix="akn-bench-sink-"))
        os.chmod(directory, 0o777)
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            ["smtp-sink", *user, "-d", f"{directory}/%Y%m%d%H%M%S.", f"127.0.0.1:{self.port}", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.seen: dict[str, int] = {}
        self.count = 0
        self.last = 0.0
        wait_port(self.port, self.process)

    def _scan(self) -> None:
        for path in self.directory.iterdir():
            if path.name in self.seen:
                continue
            data = path.read_bytes()
            if not data.endswith(b"\n"):
                continue  # still being written
            recipients = data.split(b"\n\n", 1)[0].count(b"X-Rcpt-Args:")
            self.seen[path.name] = recipients
            self.count += recipients
            self.last = max(self.last, path.stat().st_mtime)

    def wait_for(self, count: int, timeout: float = 300) -> float:
        deadline = time.monotonic() + timeout
        while True:
            self._scan()
            if self.count >= count:
                time.sleep(0.1)  # a file whose last write is still under way
                self._scan()
                return self.last
            if time.monotonic() > deadline:
                raise SystemExit(f"smtp-sink got {self.count} of {count} recipients")
            time.sleep(0.05)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)
        shutil.rmtree(self.directory, ignore_errors=True)


# --- the service under test -----------------------------------------------------------

def make_service_dir(base: Path, recipients: int, relay_port: int, verp: str = "auto") -> Path:
    """A data directory with a roster of ``recipients`` contacts (2 per member) and a config."""
    base.mkdir(parents=True)
    config = base / "akn-mail.toml"
    port = free_port()
    config.write_text(
        "[storage]\ndata_dir = \"data\"\n"
        f"[ingress]\nhost = \"127.0.0.1\"\nport = {port}\nhostname = \"bench.localhost\"\n"
        f"[relay]\nhost = \"127.0.0.1\"\nport = {relay_port}\n"
        f"[delivery]\npoll_seconds = 1.0\nverp = \"{verp}\"\n"
        "[list]\ndmarc_rewrite = \"never\"\n"
        "[logging]\nlevel = \"WARNING\"\n",
        encoding="utf-8",
    )
    sys.path.insert(0, str(ROOT))
    from akn_mail import db

    connection = db.connect(base / "data" / "akn-mail.sqlite3")
    with db.transaction(connection):
        for member in range((recipients + 1) // 2):
            cursor = connection.execute("INSERT INTO members (name, kind, hosts) VALUES (?, 'municipality', 1)",
                                        (f"Member {member}",))
            connection.execute("INSERT INTO memberships (member_id, joined) VALUES (?, NULL)", (cursor.lastrowid,))
            for slot in range(2):
                number = member * 2 + slot
                if number < recipients:
                    email = SENDER if number == 0 else f"bench{number}@member{member}.example"
                    connection.execute("INSERT INTO contacts (member_id, name, email) VALUES (?, ?, ?)",
                                       (cursor.lastrowid, f"Contact {number}", email))
    connection.close()
    return config


class ServiceProcess:
    def __init__(self, config: Path):
        self.config = config
        self.port = int([line for line in config.read_text().splitlines() if line.startswith("port")][0].split("=")[1])
        environment = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
        self.process = subprocess.Popen([PYTHON, "-m", "akn_mail", "--config", str(config), "serve"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment,
                                        cwd=ROOT)
        wait_port(self.port, self.process)
        self.database = config.parent / "data" / "akn-mail.sqlite3"

    def worker_pid(self) -> int | None:
        """The worker process the service spawned (multiprocessing spawn_main)."""
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"spawn_main" in cmdline:
                    return int(child)
        return None

    def processed(self) -> int:
        connection = sqlite3.connect(self.database, timeout=30)
        try:
            return connection.execute("SELECT count(*) FROM received").fetchone()[0]
        finally:
            connection.close()

    def wait_processed(self, count: int, timeout: float = 900) -> None:
        deadline = time.monotonic() + timeout
        while self.processed() < count:
            if time.monotonic() > deadline:
                raise SystemExit("the service did not process its backlog")
            time.sleep(0.2)

    def stop(self):
        self.process.terminate()
        self.process.wait(60)


# --- load generators ------------------------------------------------------------------

def message_10k(number: int) -> bytes:
    header = (f"From: Bench <{SENDER}>\r\nTo: {LIST}\r\nSubject: Bench {number}\r\n"
              f"Message-ID: <bench-{number}-{time.time_ns()}@member0.example>\r\n\r\n").encode()
    line = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\r\n"
    return header + line * ((10240 - len(header)) // len(line))


async def _session(port: int, count: int, numbers) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def reply():
        while True:
            line = await reader.readline()
            if line[3:4] != b"-":
                if not line.startswith((b"2", b"3")):
                    raise RuntimeError(line)
                return line

    await reply()
    writer.write(b"EHLO bench.localhost\r\n")
    await reply()
    for _ in range(count):
        data = message_10k(next(numbers))
        for command in (f"MAIL FROM:<{SENDER}>\r\n".encode(), f"RCPT TO:<{LIST}>\r\n".encode(), b"DATA\r\n"):
            writer.write(command)
            await reply()
        writer.write(data + b".\r\n")
        await reply()
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()


def python_source(port: int, sessions: int, messages: int) -> float:
    """messages/s with an asyncio client (used when smtp-source is not installed)."""
    import itertools

    numbers = itertools.count()

    async def main():
        per = messages // sessions
        await asyncio.gather(*[_session(port, per, numbers) for _ in range(sessions)])

    start = time.perf_counter()
    asyncio.run(main())
    return (messages // sessions) * sessions / (time.perf_counter() - start)


def smtp_source(port: int, sessions: int, messages: int) -> float:
    """messages/s with Postfix's smtp-source: -d keeps each session's connection open."""
    start = time.perf_counter()
    subprocess.run(["smtp-source", "-d", "-s", str(sessions), "-m", str(messages), "-l", "10240",
                    "-f", SENDER, "-t", LIST, "-M", "bench.localhost", f"127.0.0.1:{port}"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return messages / (time.perf_counter() - start)


# --- the two benchmarks ---------------------------------------------------------------

def ensure_postfix_tools(install: bool) -> str | None:
    """None when smtp-source/smtp-sink are there (installing Debian's postfix if allowed), else why not."""
    if shutil.which("smtp-source") and shutil.which("smtp-sink"):
        return None
    if not install:
        return "--no-install given"
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return "not installed, and installing needs root and apt-get (apt-get install postfix)"
    print("installing Debian's postfix for smtp-source/smtp-sink (no configuration, not started) ...")
    try:
        subprocess.run(["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select No configuration\n",
                       check=True, capture_output=True)
        environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "install", "-y", "-q", "postfix"], check=True, capture_output=True,
                       env=environment, timeout=600)
    except (OSError, subprocess.SubprocessError) as error:
        return f"installing postfix failed ({error})"
    if shutil.which("smtp-source") and shutil.which("smtp-sink"):
        return None
    return "postfix installed, but smtp-source/smtp-sink not found"


def bench_ingest(work: Path, session_counts: list[int], messages: dict[int, int], rounds: int = 3) -> None:
    source = smtp_source if shutil.which("smtp-source") else python_source
    print(f"\n## Durable ingest, 10 KB messages (client: {'smtp-source' if source is smtp_source else 'asyncio client'})")
    if source is python_source:
        print("   smtp-source not installed: the Python client is used (it may be the bottleneck)")
    noop_port = free_port()
    noop = subprocess.Popen([PYTHON, __file__, "--noop", str(noop_port)])
    wait_port(noop_port, noop)
    sink = None
    if shutil.which("smtp-sink"):
        sink_port = free_port()
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        sink = subprocess.Popen(["smtp-sink", *user, f"127.0.0.1:{sink_port}", "256"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        wait_port(sink_port, sink)
    else:
        print("   Postfix smtp-sink not installed (apt-get install postfix): that baseline is skipped")
    relay = SinkProcess()
    service = ServiceProcess(make_service_dir(work / "ingest", 1, relay.port))
    sent = 0
    worker = service.worker_pid()
    print("   akn-mail (busy): the worker process archives/indexes/delivers while the burst arrives")
    print("   akn-mail (burst): the worker is paused (SIGSTOP) during the burst and resumed after it,")
    print("                     so the spool absorbs the burst; processed/s is the worker catching up")
    print("   figures: median of the rounds, messages/s answered 250")
    print(f"{'sessions':>8} {'aiosmtpd no-op':>15} {'smtp-sink':>10} {'akn (busy)':>11} {'busy/no-op':>10} "
          f"{'akn (burst)':>12} {'burst/no-op':>11} {'processed/s':>12}")
    try:
        for sessions in session_counts:
            count = messages[sessions]
            results: dict[str, list[float]] = {"noop": [], "sink": [], "busy": [], "burst": [], "processed": []}
            # Alternate the servers, several rounds, medians: the machine's load changes by the second.
            for _ in range(rounds):
                results["noop"].append(source(noop_port, sessions, count))
                if sink:
                    results["sink"].append(source(sink_port, sessions, count))
                results["busy"].append(source(service.port, sessions, count))
                sent += count
                service.wait_processed(sent)
                if worker:
                    os.kill(worker, signal.SIGSTOP)
                try:
                    results["burst"].append(source(service.port, sessions, count))
                finally:
                    if worker:
                        os.kill(worker, signal.SIGCONT)
                start = time.perf_counter()
                sent += count
                service.wait_processed(sent)
                results["processed"].append(count / (time.perf_counter() - start))
            noop_rate, busy, burst, processed = (statistics.median(results[key]) for key in
                                                 ("noop", "busy", "burst", "processed"))
            sink_rate = statistics.median(results["sink"]) if results["sink"] else None
            print(f"{sessions:>8} {noop_rate:>12.0f}/s {(f'{sink_rate:.0f}/s' if sink_rate else 'n/a'):>10} "
                  f"{busy:>9.0f}/s {busy / noop_rate:>10.0%} {burst:>10.0f}/s {burst / noop_rate:>11.0%} "
                  f"{processed:>10.0f}/s")
    finally:
        service.stop()
        relay.stop()
        noop.terminate()
        if sink:
            sink.terminate()


def bench_fanout(work: Path, sizes: list[int], repeats: dict[int, int], verp: str = "auto",
                 postfix_sink: bool = False) -> None:
    which = "Postfix smtp-sink" if postfix_sink else "aiosmtpd sink with XVERP+PIPELINING"
    print(f"\n## Fan-out latency: 250 of the post -> last recipient at the {which} "
          f"([delivery] verp = \"{verp}\", batch_size 100, connections 4)")
    print(f"{'recipients':>10} {'median':>9} {'min':>9} {'max':>9} {'runs':>5}")
    import smtplib

    for size in sizes:
        sink = PostfixSinkProcess() if postfix_sink else SinkProcess()
        service = ServiceProcess(make_service_dir(work / f"fanout-{verp}-{postfix_sink}-{size}", size, sink.port, verp))
        latencies = []
        try:
            for run in range(repeats[size]):
                before = sink.count
                with smtplib.SMTP("127.0.0.1", service.port, local_hostname="bench.localhost") as client:
                    client.sendmail(SENDER, [LIST], message_10k(run))
                    accepted = time.time()
                last = sink.wait_for(before + size)
                latencies.append(last - accepted)
                time.sleep(0.2)
        finally:
            service.stop()
            sink.stop()
        print(f"{size:>10} {statistics.median(latencies) * 1000:>7.0f}ms {min(latencies) * 1000:>7.0f}ms "
              f"{max(latencies) * 1000:>7.0f}ms {len(latencies):>5}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer messages and repeats")
    parser.add_argument("--noop", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-fanout", action="store_true")
    parser.add_argument("--verp-on", action="store_true", help="also fan out with one transaction per recipient")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install postfix for its tools")
    args = parser.parse_args()
    if args.noop:
        return run_noop(args.noop)
    if args.sink:
        return run_sink(args.sink)
    load = os.getloadavg()
    print(f"# akn-mail bench: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"at start, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    missing = ensure_postfix_tools(not args.no_install)
    if missing:
        print(f"# Postfix smtp-source/smtp-sink baselines skipped: {missing}")
    scale = 0.25 if args.quick else 1.0
    with tempfile.TemporaryDirectory(prefix="akn-bench-") as directory:
        work = Path(directory)
        if not args.skip_ingest:
            bench_ingest(work, [1, 4, 16], {1: int(150 * scale), 4: int(300 * scale), 16: int(800 * scale)},
                         rounds=1 if args.quick else 3)
        if not args.skip_fanout:
            repeats = {20: 5 if args.quick else 15, 1000: 3 if args.quick else 7, 10000: 2 if args.quick else 3}
            bench_fanout(work, [20, 1000, 10000], repeats)
            if shutil.which("smtp-sink"):
                bench_fanout(work, [20, 1000, 10000], repeats, verp="off", postfix_sink=True)
            else:
                print("\nPostfix smtp-sink not installed (apt-get install postfix): its fan-out rows are skipped")
            if args.verp_on:
                bench_fanout(work, [20, 1000], {20: 5, 1000: 3}, verp="on")
    load = os.getloadavg()
    print(f"\n# load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")


if __name__ == "__main__":
    main()
