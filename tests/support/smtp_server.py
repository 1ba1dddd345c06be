"""A minimal SMTP server on a loopback socket for email-tool tests (no TLS, no AUTH).

It speaks enough RFC 5321 for smtplib: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT. Received
messages are parsed and appended to ``server.messages``; ``server.reject[addr] = (code, text)``
makes RCPT TO for that address fail with that reply.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from typing import Any


class _Handler(socketserver.StreamRequestHandler):
    server: _SMTPServer

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test-smtp ready")
        envelope: dict[str, Any] = {"from": None, "to": []}
        while raw := self.rfile.readline():
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            verb = line[:4].upper()
            if verb == "EHLO":
                self.reply("250-test-smtp")
                self.reply("250 8BITMIME")
            elif verb == "HELO":
                self.reply("250 test-smtp")
            elif verb == "MAIL":
                envelope = {"from": line.split(":", 1)[1].strip().strip("<>").split(">")[0], "to": []}
                self.reply("250 OK")
            elif verb == "RCPT":
                addr = line.split(":", 1)[1].strip().strip("<>").split(">")[0]
                if addr in self.server.reject:
                    code, text = self.server.reject[addr]
                    self.reply(f"{code} {text}")
                else:
                    envelope["to"].append(addr)
                    self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with <CRLF>.<CRLF>")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                self.server.messages.append(
                    {**envelope, "message": message_from_bytes(data, policy=policy.default)}
                )
                self.reply("250 queued")
            elif verb in ("RSET", "NOOP"):
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 command not implemented")


class _SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.messages: list[dict[str, Any]] = []
        self.reject: dict[str, tuple[int, str]] = {}


@contextmanager
def smtp_server() -> Iterator[_SMTPServer]:
    """Run the server in a thread; ``server.server_address[1]`` is its port."""
    server = _SMTPServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
