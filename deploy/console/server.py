"""The console process: `python -m deploy.console.server --port PORT`.

Django with the console's settings behind the standard library's threading WSGI server (a local
operations page for a few users; no extra dependency), and the sampler thread. SIGTERM and
SIGINT stop both.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from deploy.console import monitor as monitors
from deploy.console import setup

logger = logging.getLogger("deploy.console")
HOST = "127.0.0.1"


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Handler(WSGIRequestHandler):
    def log_message(self, fmt, *args) -> None:
        logger.info("%s %s", self.address_string(), fmt % args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.console.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--sample-interval", type=float, default=monitors.DEFAULT_INTERVAL_S,
                        help="seconds between two samples of offsets and lag")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    setup.prepare()
    from django.apps import apps
    from django.core.wsgi import get_wsgi_application

    from deploy.console import runtime
    from schemas.config import paths_from_env

    conn = runtime.connections()
    mon = monitors.Monitor(conn.settings, conn.database_url, paths_from_env().home,
                           interval_s=args.sample_interval)
    apps.get_app_config("console").monitor = mon
    server = make_server(args.host, args.port, get_wsgi_application(),
                         server_class=_ThreadingServer, handler_class=_Handler)

    def _stop(signum, frame):
        logger.info("signal %s: stopping", signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    mon.start()
    logger.info("console on http://%s:%s (Kafka %s)", args.host, args.port,
                conn.settings.bootstrap_servers)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        mon.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
