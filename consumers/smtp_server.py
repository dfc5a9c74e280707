"""The local SMTP server: aiosmtpd accepting mail on loopback and writing it to a Maildir.

It answers 250 to DATA only after the message file is in `<maildir>/new`, so "accepted by the
server" means "in the Maildir". Run as `python -m consumers.smtp_server --port P --maildir DIR`
(the `smtp` component of `pipeline up`), or embedded with `MaildirServer(...).start()`.
"""

from __future__ import annotations

import argparse
import logging
import mailbox
import signal
import smtplib
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

logger = logging.getLogger(__name__)


class MaildirServer:
    def __init__(self, maildir: Path, host: str = "127.0.0.1", port: int = 8025):
        self.maildir = Path(maildir)
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    def start(self) -> MaildirServer:
        self.maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.maildir, create=True)
        self._controller = Controller(
            Mailbox(self.maildir), hostname=self.host, port=self.port, ready_timeout=10
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MaildirServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def healthy(host: str, port: int, timeout: float = 2.0) -> bool:
    """True if an SMTP server answers NOOP at host:port."""
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            return client.noop()[0] == 250
    except (OSError, smtplib.SMTPException):
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consumers.smtp_server",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--maildir", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    server = MaildirServer(args.maildir, args.host, args.port).start()
    logger.info("SMTP on %s:%s delivering to %s", args.host, args.port, args.maildir)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
