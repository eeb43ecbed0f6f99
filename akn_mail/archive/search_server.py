"""A warm searcher in ``serve`` that answers ``akn-mail search`` over a Unix socket.

Most of a command-line search is starting Python and importing click and Whoosh; the
query itself takes milliseconds. While ``serve`` runs, its worker keeps one searcher open
(index files read, compound splits cached) and listens on ``<data_dir>/search.sock``
(mode 0600, so only the data directory's owner can ask). ``akn_mail.__main__``
sends the command's options as one JSON line and prints the answer; when no server
answers it runs the search itself, with the same output (``querying.render``).

Protocol: one request per connection, a JSON object of ``querying.Request`` fields plus
``"version"``; the answer is a JSON object with ``"output"`` (the text the command prints,
bold as ANSI codes) or ``"error"`` (the one-line message after ``Error:``).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from pathlib import Path

from akn_mail import db as db_module
from akn_mail.errors import AknError

log = logging.getLogger("akn_mail.archive")

SOCKET_NAME = "search.sock"
PROTOCOL = 1
MAX_REQUEST = 64 * 1024


def socket_path(data_dir) -> Path:
    return Path(data_dir) / SOCKET_NAME


class SearchServer:
    """One thread accepting connections; searches run one after the other on a warm searcher."""

    def __init__(self, config):
        self.config = config
        self.path = socket_path(config.data_dir)
        self.sock: socket.socket | None = None
        self.thread = threading.Thread(target=self._run, name="akn-search-server", daemon=True)
        self._stopping = threading.Event()

    def start(self) -> "SearchServer":
        if len(os.fsencode(self.path)) >= 100:  # sockaddr_un holds about 108 bytes
            log.warning("search server not started: the socket path %s is too long", self.path)
            return self
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)
        try:
            sock.bind(str(self.path))
        finally:
            os.umask(old_umask)
        sock.listen(16)
        self.sock = sock
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self.sock is not None:
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass
        if self.thread.is_alive():
            self.thread.join(5)

    def _run(self) -> None:
        from akn_mail.archive.index import ArchiveIndex
        from akn_mail.archive.search import ArchiveSearch
        from akn_mail.archive.synonyms import Synonyms
        from akn_mail.roster.members import Roster

        connection = db_module.connect(self.config.database_path)
        roster = Roster(connection)
        search = None
        try:
            while not self._stopping.is_set():
                try:
                    client, _ = self.sock.accept()
                except OSError:
                    break
                with client:
                    try:
                        index = ArchiveIndex(self.config.index_dir)
                        if search is None and index.exists():
                            search = ArchiveSearch(index, connection, Synonyms.load(self.config.synonyms_path))
                        self._answer(client, connection, roster, search if index.exists() else None)
                    except Exception:  # noqa: BLE001 - one bad request must not stop the server
                        log.exception("search server: request failed")
                        self._send(client, {"unavailable": True})
        finally:
            if search is not None:
                search.close()
            connection.close()

    def _answer(self, client: socket.socket, connection, roster, search) -> None:
        from akn_mail.archive.querying import Request, hits_for, render

        client.settimeout(5.0)
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_REQUEST:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
        fields = json.loads(data.decode("utf-8"))
        if fields.pop("version", None) != PROTOCOL:
            self._send(client, {"unavailable": True})  # an older or newer client: it searches itself
            return
        request = Request(**fields)
        try:
            hits = hits_for(request, self.config, connection, roster, search)
        except AknError as error:
            self._send(client, {"error": str(error)})
            return
        self._send(client, {"output": render(hits, request.as_json, request.explain)})

    @staticmethod
    def _send(client: socket.socket, answer: dict) -> None:
        client.sendall(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
