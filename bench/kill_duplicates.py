#!/usr/bin/env python3
"""What a kill -9 during fan-out can duplicate, with a relay: measured, not assumed.

    .venv/bin/python bench/kill_duplicates.py               # 10 kills per setting (a few minutes)
    .venv/bin/python bench/kill_duplicates.py --kills 3     # shorter

A real ``akn-mail serve`` fans one message out to RECIPIENTS addresses through a relay (an
aiosmtpd server on 127.0.0.1 in this process that records every transaction and waits a
moment before answering DATA, so kills land inside transactions too). The script kills the
server with SIGKILL as soon as the relay has seen new recipients, restarts it, and repeats;
at the end it lets the fan-out finish and counts how often each recipient arrived.

A recipient arrives twice when the relay took the message (its 250 to DATA, or the DATA
was complete when the kill came) but the server died before it recorded that in SQLite:
at most the transactions in flight at the kill, one per connection, each up to
``batch_size`` recipients. The table shows, per setting, the worst kill against that bound.
Postfix has the same window between its smtp client's 250 and the queue file update.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from akn_mail import config as config_module  # noqa: E402
from akn_mail import db as db_module  # noqa: E402
from akn_mail.delivery.queue import DeliveryQueue  # noqa: E402

MESSAGE = (b"From: klimaschutz@dormagen.example\r\nTo: akn@lists.example\r\nSubject: Fan-out\r\n"
           b"Message-ID: <kill-bench@dormagen.example>\r\n\r\n" + b"Text der Nachricht.\r\n" * 200)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """The relay: records (recipients) of every transaction it answered DATA for."""

    def __init__(self, delay: float):
        self.delay = delay
        self.arrived: Counter = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(self.delay)  # a relay writing its queue file
        with self.lock:
            self.arrived.update(address.lower() for address in envelope.rcpt_tos)
        return "250 2.0.0 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.arrived.values())


def start(config_path: Path, port: int) -> subprocess.Popen:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AKN_MAIL_")}
    process = subprocess.Popen([sys.executable, "-m", "akn_mail", "--config", str(config_path), "serve"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment, cwd=ROOT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process
        except OSError:
            time.sleep(0.02)
    process.kill()
    raise SystemExit("akn-mail serve did not start")


def sent(config) -> int:
    connection = db_module.connect(config.database_path)
    try:
        return DeliveryQueue(connection, config).counts().get("sent", 0)
    finally:
        connection.close()


def run(recipients: int, verp: str, batch_size: int, connections: int, kills: int, delay: float) -> dict:
    sink = Sink(delay)
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), server_hostname="relay.localhost")
    controller.start()
    with tempfile.TemporaryDirectory(prefix="akn-kill-") as directory:
        port = free_port()
        path = Path(directory) / "serve.toml"
        path.write_text(
            f"[storage]\ndata_dir = \"data\"\n[ingress]\nhost = \"127.0.0.1\"\nport = {port}\n"
            f"[relay]\nhost = \"127.0.0.1\"\nport = {controller.port}\n"
            f"[delivery]\npoll_seconds = 0.05\nverp = \"{verp}\"\nbatch_size = {batch_size}\n"
            f"connections = {connections}\nfirst_retry_seconds = 1\nmax_retry_seconds = 1\n",
            encoding="utf-8",
        )
        config = config_module.load(path)
        config.data_dir.mkdir(mode=0o750)
        addresses = [f"empfaenger{number:05d}@kreis.example" for number in range(recipients)]
        connection = db_module.connect(config.database_path)
        DeliveryQueue(connection, config).enqueue(MESSAGE, addresses, message_id="<kill-bench@dormagen.example>")
        connection.close()
        per_kill = []
        for _ in range(kills):
            before_total, before_sent = sink.total(), sent(config)
            if before_sent >= recipients:
                break
            process = start(path, port)
            deadline = time.monotonic() + 30
            while sink.total() == before_total and time.monotonic() < deadline:
                time.sleep(0.001)
            time.sleep(delay / 2)  # into the next transactions
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            arrived_now = sink.total() - before_total
            recorded_now = sent(config) - before_sent
            per_kill.append(max(0, arrived_now - recorded_now))  # arrived but not recorded: will be sent again
        process = start(path, port)
        deadline = time.monotonic() + 120
        while sent(config) < recipients and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        missing = [address for address in addresses if sink.arrived[address] == 0]
        duplicated = sum(count - 1 for count in sink.arrived.values() if count > 1)
    controller.stop()
    per_transaction = 1 if verp == "on" else batch_size
    return {"setting": f"verp={verp} batch_size={batch_size} connections={connections}", "kills": len(per_kill),
            "duplicated": duplicated, "worst_kill": max(per_kill, default=0),
            "bound": connections * per_transaction, "missing": len(missing)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds the relay waits before its 250 to DATA")
    args = parser.parse_args()
    settings = [("off", 100, 4), ("off", 20, 2), ("on", 100, 4)]
    print("| setting | kills | recipients sent twice (all kills) | worst kill | bound: connections x recipients per transaction | missing |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for verp, batch_size, connections in settings:
        result = run(args.recipients, verp, batch_size, connections, args.kills, args.delay)
        print(f"| {result['setting']} | {result['kills']} | {result['duplicated']} | {result['worst_kill']} "
              f"| {result['bound']} | {result['missing']} |", flush=True)


if __name__ == "__main__":
    main()
