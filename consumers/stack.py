"""The consumers' part of the local stack: an SMTP server and one process per declared worker.

The SMTP server (a Maildir on loopback) is a generic component: each worker process gets its
address as EMAIL_HOST/EMAIL_PORT, the names Django's e-mail settings use, so a handler that
sends mail through the project's Django settings reaches it.

Ports (SMTP, each worker's metrics) are picked once per PIPELINE_HOME and kept in the stack's
state (`Stack.area_ports`), so `status` and a restarted stack find the same ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

from consumers import smtp_server
from consumers.handlers import worker_names
from consumers.metrics import worker_ready
from deploy.runtime.process import ProcessSpec

SMTP_HOST = "127.0.0.1"
PREFERRED_SMTP_PORT = 8025
PREFERRED_METRICS_PORT = 9410


def components(stack) -> list:
    ports = _ports(stack)
    smtp = SmtpComponent(Path(stack.home), ports["smtp"])
    return [smtp] + [
        WorkerComponent(stack, name, ports[f"worker-{name}"], smtp) for name in worker_names()
    ]


def status(stack) -> dict:
    home = Path(stack.home)
    ports = _ports(stack)
    return {
        "smtp": {
            "host": SMTP_HOST,
            "port": ports["smtp"],
            "maildir": str(SmtpComponent(home, ports["smtp"]).maildir),
        },
        "workers": {
            name: {
                "group": f"worker-{name}",
                "metrics_url": f"http://127.0.0.1:{ports[f'worker-{name}']}/metrics",
            }
            for name in worker_names()
        },
    }


class SmtpComponent:
    name = "smtp"
    uses_kafka = False  # a secure stack starts it without Kafka credentials

    def __init__(self, home: Path, port: int):
        self.dir = home / "smtp"
        self.port = port
        self.host = SMTP_HOST

    @property
    def maildir(self) -> Path:
        return self.dir / "Maildir"

    @property
    def log(self) -> Path:
        return self.dir / "smtp.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.port,)

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        return ProcessSpec(
            argv=[sys.executable, "-m", "consumers.smtp_server", "--host", self.host,
                  "--port", str(self.port), "--maildir", str(self.maildir)],
            log=self.log,
        )

    def healthy(self) -> bool:
        return smtp_server.healthy(self.host, self.port)


class WorkerComponent:
    def __init__(self, stack, worker: str, metrics_port: int, smtp: SmtpComponent):
        self.name = f"worker-{worker}"
        self.worker = worker
        self.stack = stack
        self.metrics_port = metrics_port
        self.smtp = smtp
        self.dir = Path(stack.home) / "workers"

    @property
    def log(self) -> Path:
        return self.dir / f"{self.worker}.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.metrics_port,)

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)

    def process(self) -> ProcessSpec:
        env = {
            **self.stack.child_env(),
            "EMAIL_HOST": self.smtp.host,
            "EMAIL_PORT": str(self.smtp.port),
        }
        return ProcessSpec(
            argv=[sys.executable, "-m", "deploy.cli", "worker", self.worker,
                  "--metrics-port", str(self.metrics_port), "--instance-id", f"{self.name}-1"],
            log=self.log,
            env=env,
        )

    def healthy(self) -> bool:
        return worker_ready(self.metrics_port)


def _ports(stack) -> dict[str, int]:
    wanted = {"smtp": PREFERRED_SMTP_PORT}
    wanted.update({f"worker-{n}": PREFERRED_METRICS_PORT + i for i, n in enumerate(worker_names())})
    return stack.area_ports("consumers", wanted)
