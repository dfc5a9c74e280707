"""The shop for tests and benchmarks: its processes outside the stack (its own database, several
relays, kill -9, the shop's workload command), and its API driven from outside (`ShopApi`,
orders at a steady rate with `OrderFlow`, the mails they cause with `MailWatch`)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

from deploy.runtime.ports import free_port
from producer_django.testing import query, read_topic, wait_until

_PUBLISH = """
import time
from django.db import transaction
from producer_django.events.publish import publish
prefix, events, batch, pause_s = {prefix!r}, {events}, {batch}, {pause_s}
for start in range(0, events, batch):
    with transaction.atomic():
        for n in range(start, min(start + batch, events)):
            publish("NotificationRequested", {{"user_id": f"{{prefix}}-{{n}}",
                    "recipient": f"u{{n}}@example.test", "template": "welcome",
                    "params": {{"name": f"User {{n}}"}}}})
    time.sleep(pause_s)
"""


class ShopProcesses:
    """Set up a shop database and run its server, relays and workloads as real processes."""

    def __init__(self, settings, home: Path, pipeline: dict | None = None):
        from producer_django.stack import django_env

        self.settings = settings
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = django_env(settings, self.home)
        if pipeline:
            self.env["SHOP_PIPELINE_JSON"] = json.dumps(pipeline)
        self.db_url = self.env["DATABASE_URL"]
        self.pids: list[int] = []
        self.server = None

    def setup(self) -> None:
        from producer_django.stack import DjangoServer

        self.server = DjangoServer(self.settings, self.home, port=free_port())
        self._manage_run("pipeline_setup", "--token-file", str(self.server.token_file),
                         "--password-file", str(self.server.password_file))

    def start_server(self) -> int:
        from deploy.runtime import process

        spec = self.server.process()
        spec = dataclasses.replace(spec, env={**spec.env, **self.env})
        pid = process.spawn(spec)
        self.pids.append(pid)
        if not wait_until(self.server.healthy, 60):
            raise RuntimeError(f"shop server did not start; see {self.server.log}")
        return pid

    def start_relay(self, name: str = "relay") -> int:
        from deploy.runtime import process
        from producer_django.stack import manage_argv

        spec = process.ProcessSpec(
            argv=manage_argv("relay_outbox"), log=self.home / f"{name}.log", env=self.env
        )
        pid = process.spawn(spec)
        self.pids.append(pid)
        return pid

    def workload(self, *args: str, log_name: str = "workload") -> subprocess.Popen:
        from producer_django.stack import manage_argv

        log = open(self.home / f"{log_name}.log", "ab")
        proc = subprocess.Popen(
            manage_argv("shop_workload", *args), stdout=subprocess.PIPE, stderr=log,
            env={**os.environ, **self.env}, text=True,
        )
        log.close()
        return proc

    def publish_notifications(self, prefix: str, events: int, batch: int = 20,
                              pause_s: float = 0.1) -> subprocess.Popen:
        """A Django process writing `events` NotificationRequested events to the outbox (user
        ids `<prefix>-<n>`), `batch` per transaction, pausing `pause_s` between transactions."""
        from producer_django.stack import manage_argv

        script = _PUBLISH.format(prefix=prefix, events=events, batch=batch, pause_s=pause_s)
        with open(self.home / "publisher.log", "ab") as log:
            return subprocess.Popen(manage_argv("shell", "-c", script), stdout=log, stderr=log,
                                    env={**os.environ, **self.env})

    def kill9(self, pid: int) -> None:
        from deploy.runtime import process

        process.kill9(pid)

    def stop(self, pid: int) -> None:
        from deploy.runtime import process

        process.stop(pid)

    def close(self) -> None:
        for pid in self.pids:
            self.stop(pid)

    def pending(self) -> int:
        sql = "SELECT COUNT(*) FROM events_outbox WHERE published_at IS NULL"
        return query(self.db_url, sql)[0][0]

    def committed_ids(self, topic: str, aggregate_prefix: str) -> dict[str, tuple[str, int]]:
        """event_id -> (aggregate_id, version) of every committed outbox row on `topic`."""
        rows = query(
            self.db_url,
            "SELECT payload, aggregate_id, aggregate_version FROM events_outbox "
            "WHERE topic = %s AND aggregate_id LIKE %s",
            (topic, aggregate_prefix + "%"),
        )
        out = {}
        for payload, agg, version in rows:
            data = json.loads(payload) if isinstance(payload, str) else payload
            out[data["event_id"]] = (agg, version)
        return out

    def _manage_run(self, *args: str) -> None:
        from producer_django.stack import manage_argv

        done = subprocess.run(manage_argv(*args), env={**os.environ, **self.env},
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed: {done.stderr[-2000:]}")


@dataclasses.dataclass(frozen=True)
class PlacedOrder:
    """An order the API accepted (201): its commit is the moment the answer arrived."""

    order_id: str
    recipient: str
    sku: str
    quantity: int
    committed_at: float  # time.time()


class ShopApi:
    """The shop's HTTP API with the dev user's token, for tests and the soak benchmark."""

    def __init__(self, url: str, token: str, timeout_s: float = 30.0):
        import httpx

        self.http = httpx.Client(base_url=url, timeout=timeout_s,
                                 headers={"Authorization": f"Token {token}"})

    @classmethod
    def of(cls, report: dict) -> ShopApi:
        """From `Stack.status()` / `pipeline status --json`."""
        return cls(report["django"]["url"], report["django"]["api_token"])

    def close(self) -> None:
        self.http.close()

    def create_products(self, prefix: str, count: int, stock: int) -> list[str]:
        skus = [f"{prefix}-{n}" for n in range(count)]
        for sku in skus:
            self._ok(self.http.post("/api/products/", json={
                "sku": sku, "name": f"Item {sku}", "price_cents": 100, "stock": stock}))
        return skus

    def register(self, email: str, name: str) -> dict:
        return self._ok(self.http.post("/api/users/", json={"email": email, "name": name}))

    def place_order(self, user: dict, sku: str, quantity: int) -> PlacedOrder | None:
        """The accepted order, None when the API refused it for want of stock (409)."""
        import time

        answer = self.http.post("/api/orders/", json={
            "user_id": user["user_id"], "lines": [{"sku": sku, "quantity": quantity}]})
        if answer.status_code == 409:
            return None
        order_id = self._ok(answer)["order_id"]
        return PlacedOrder(order_id, user["email"], sku, quantity, time.time())

    def stock(self, sku: str) -> int:
        return self._ok(self.http.get(f"/api/products/{sku}/"))["stock"]

    @staticmethod
    def _ok(answer) -> dict:
        if answer.status_code >= 300:
            raise RuntimeError(f"{answer.request.method} {answer.request.url} answered "
                               f"{answer.status_code}: {answer.text[:300]}")
        return answer.json()


class OrderFlow:
    """Customers order at a steady rate from a few threads, each with its own API client,
    until `stop()`. `placed` holds every accepted order; `failures` the requests that failed
    (an answer other than 201/409, or none)."""

    def __init__(self, make_api, users: list[dict], skus: list[str], rate: float,
                 threads: int = 4):
        import threading

        self.make_api = make_api
        self.users, self.skus = users, skus
        self.rate = rate
        self.placed: list[PlacedOrder] = []
        self.refused = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._next = 0
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> OrderFlow:
        import time

        self._began = time.perf_counter()
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(60)

    @property
    def asked(self) -> int:
        """Orders the flow set out to place so far."""
        return self._next

    def _claim(self) -> int:
        with self._lock:
            n, self._next = self._next, self._next + 1
            return n

    def _run(self) -> None:
        import time

        api = self.make_api()
        try:
            while not self._stop.is_set():
                n = self._claim()
                # Paced against the schedule, not sleep-after-each: no drift.
                delay = self._began + n / self.rate - time.perf_counter()
                if delay > 0 and self._stop.wait(delay):
                    return
                user = self.users[n % len(self.users)]
                try:
                    order = api.place_order(user, self.skus[n % len(self.skus)], 1 + n % 3)
                except Exception as exc:  # noqa: BLE001 - counted and reported by the caller
                    with self._lock:
                        self.failures.append(f"{type(exc).__name__}: {exc}")
                    continue
                with self._lock:
                    if order is None:
                        self.refused += 1
                    else:
                        self.placed.append(order)
        finally:
            api.close()


@dataclasses.dataclass(frozen=True)
class Mail:
    message_id: str
    recipient: str
    subject: str
    template: str
    delivered_at: float  # the Maildir file's mtime


class MailWatch:
    """Reads each new mail of a Maildir once (a soak's Maildir grows to tens of thousands)."""

    def __init__(self, maildir: Path):
        self.maildir = Path(maildir)
        self.mails: list[Mail] = []
        self._seen: set[str] = set()

    def poll(self) -> list[Mail]:
        import email

        new = []
        for folder in ("new", "cur"):
            try:
                names = os.listdir(self.maildir / folder)
            except FileNotFoundError:
                continue
            for name in names:
                key = name.split(":")[0]
                if key in self._seen:
                    continue
                path = self.maildir / folder / name
                try:
                    with open(path, "rb") as fh:
                        msg = email.message_from_binary_file(fh)
                    delivered = path.stat().st_mtime
                except FileNotFoundError:
                    continue  # moved from new/ to cur/ meanwhile: found on the next poll
                self._seen.add(key)
                new.append(Mail(msg.get("Message-ID", ""), msg.get("To", ""),
                                msg.get("Subject", ""),
                                msg.get("X-Notification-Template", ""), delivered))
        self.mails.extend(new)
        return new

    def confirmations(self) -> dict[str, list[Mail]]:
        """order id -> its confirmation mails (the subject names the order)."""
        out: dict[str, list[Mail]] = {}
        for mail in self.mails:
            if mail.template == "order_confirmation":
                # The subject template reads "Your order {{ order_id }} is confirmed".
                words = mail.subject.split()
                order_id = words[2] if len(words) > 2 else ""
                out.setdefault(order_id, []).append(mail)
        return out


def inventory_table(streams_url: str, skus: list[str]) -> dict[str, int | None]:
    """sku -> on_hand in the stream app's inventory table (None: not there yet)."""
    import httpx

    got = {}
    for sku in skus:
        answer = httpx.get(f"{streams_url}/inventory/{sku}", timeout=10)
        got[sku] = answer.json().get("on_hand") if answer.status_code == 200 else None
    return got


def flow_problems(settings, report: dict, flow: OrderFlow, users: list[dict], skus: list[str],
                  stock: int, mails: MailWatch, timeout_s: float = 240.0) -> list[str]:
    """What an OrderFlow's accepted orders did not cause exactly once, after the dust settles:
    each one OrderPlaced in shop.orders (one record, one event id, decoded by confluent-kafka's
    AvroDeserializer), one confirmation mail, one welcome mail per customer, and stock in the
    database and the inventory table equal to the starting stock less the accepted quantities."""
    import time
    from collections import Counter

    from schemas import registry

    placed = {o.order_id: o for o in flow.placed}
    problems = [f"{len(flow.failures)} order requests failed, first: {flow.failures[0]}"
                ] if flow.failures else []
    events = read_topic(
        settings, registry.connect(settings), "shop.orders",
        lambda key, headers: key in placed and headers.get("event_type") == "OrderPlaced",
        until=lambda found: {e.key for e in found} >= set(placed), timeout_s=timeout_s)
    records = Counter(e.key for e in events)
    ids: dict[str, set] = {}
    for event in events:
        ids.setdefault(event.key, set()).add(event.event_id)
    missing = [o for o in placed if o not in records]
    repeated = [o for o, n in records.items() if n != 1 or len(ids[o]) != 1]
    if missing:
        problems.append(f"{len(missing)} of {len(placed)} accepted orders not in shop.orders")
    if repeated:
        problems.append(f"{len(repeated)} orders in shop.orders more than once: {repeated[:3]}")

    recipients = {u["email"] for u in users}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        mails.poll()
        if set(mails.confirmations()) >= set(placed):
            break
        time.sleep(1)
    time.sleep(5)  # a duplicate would arrive by now
    mails.poll()
    confirmations = mails.confirmations()
    lost = [o for o in placed if o not in confirmations]
    doubled = [o for o in placed if len(confirmations.get(o, ())) > 1]
    welcomes = Counter(m.recipient for m in mails.mails
                       if m.template == "welcome" and m.recipient in recipients)
    if lost:
        problems.append(f"{len(lost)} of {len(placed)} confirmation mails missing")
    if doubled:
        problems.append(f"{len(doubled)} orders confirmed by more than one mail")
    if set(welcomes) != recipients or set(welcomes.values()) != {1}:
        problems.append(f"welcome mails per customer: {dict(welcomes)}")

    sold = Counter()
    for order in placed.values():
        sold[order.sku] += order.quantity
    expected = {sku: stock - sold[sku] for sku in skus}
    api = ShopApi.of(report)
    try:
        database = {sku: api.stock(sku) for sku in skus}
    finally:
        api.close()
    if database != expected:
        problems.append(f"stock in the database {database}, expected {expected}")
    streams_url = report["streams"]["url"]
    wait_until(lambda: inventory_table(streams_url, skus) == expected, timeout_s)
    table = inventory_table(streams_url, skus)
    if table != expected:
        problems.append(f"inventory table {table}, expected {expected}")
    return problems
