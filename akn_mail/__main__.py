"""``akn-mail`` and ``python -m akn_mail``: ``search`` asks a running ``serve`` first, all else is the CLI.

Starting Python and importing click and Whoosh costs far more than a search. So before
anything heavy is imported, a plain ``akn-mail [--config FILE] search ...`` is read here
with the standard library and sent to the warm searcher of a running ``serve``
(``archive.search_server``, a Unix socket in the data directory). Whatever this reader
does not recognise (``--help``, an unknown option, a bad ``--limit``), a missing or silent
server, or a server of another version falls through to the click command, which searches
in-process and prints the same output.
"""

from __future__ import annotations

import json
import os
import socket
import sys

FLAGS = {"--minutes": "minutes", "--json": "as_json", "--explain": "explain"}
VALUES = {"--host": "host", "--from": "sender", "--since": "since", "--until": "until", "--limit": "limit"}
PROTOCOL = 1  # archive.search_server.PROTOCOL (not imported: that module loads the database layer)
SOCKET_NAME = "search.sock"
ANSWER_TIMEOUT = 30.0


def read_search_arguments(argv: list[str]) -> tuple[str | None, dict] | None:
    """(config path, request fields) of a plain search command line, else None."""
    config_path = os.environ.get("AKN_MAIL_CONFIG") or None
    position = 0
    while position < len(argv) and argv[position].startswith("--config"):
        option = argv[position]
        if option == "--config" and position + 1 < len(argv):
            config_path, position = argv[position + 1], position + 2
        elif option.startswith("--config="):
            config_path, position = option.split("=", 1)[1], position + 1
        else:
            return None
    if position >= len(argv) or argv[position] != "search":
        return None
    fields: dict = {}
    words: list[str] = []
    rest = argv[position + 1:]
    index = 0
    while index < len(rest):
        token = rest[index]
        index += 1
        if token == "--":
            words.extend(rest[index:])
            break
        if not token.startswith("-") or token == "-":
            words.append(token)
            continue
        name, equals, value = token.partition("=")
        if name in FLAGS and not equals:
            fields[FLAGS[name]] = True
        elif name in VALUES:
            if not equals:
                if index >= len(rest):
                    return None
                value, index = rest[index], index + 1
            fields[VALUES[name]] = value
        else:
            return None  # --help and anything unknown: click answers
    if not words:
        return None
    if "limit" in fields:
        try:
            fields["limit"] = int(fields["limit"])
        except ValueError:
            return None
        if not 1 <= fields["limit"] <= 10000:
            return None
    fields["query"] = " ".join(words)
    return config_path, fields


def ask_server(config_path: str | None, fields: dict) -> dict | None:
    """The server's answer, or None when no server answers (or it cannot)."""
    try:
        # Only where the data directory is (``locate``): the full configuration reader costs
        # a third of this client's start; a file it cannot read goes to the CLI, which says why.
        from akn_mail.locate import data_directory

        path = os.path.join(str(data_directory(config_path)), SOCKET_NAME)
    except Exception:  # noqa: BLE001 - the CLI reports a bad config properly
        return None
    if not os.path.exists(path):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(ANSWER_TIMEOUT)
            sock.connect(path)
            sock.sendall(json.dumps({**fields, "version": PROTOCOL}, ensure_ascii=False).encode("utf-8") + b"\n")
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        answer = json.loads(data.decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(answer, dict) or answer.get("unavailable") or not ("output" in answer or "error" in answer):
        return None
    return answer


def main() -> None:
    arguments = read_search_arguments(sys.argv[1:])
    if arguments is not None:
        answer = ask_server(*arguments)
        if answer is not None:
            if "error" in answer:
                sys.stderr.write(f"Error: {answer['error']}\n")
                sys.exit(1)
            output = answer["output"]
            if not sys.stdout.isatty():
                output = output.replace("\x1b[1m", "").replace("\x1b[0m", "")
            sys.stdout.write(output)
            sys.stdout.flush()
            sys.exit(0)
    from akn_mail.cli import main as cli_main

    cli_main()


if __name__ == "__main__":
    main()
