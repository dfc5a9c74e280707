"""The console in a real browser (Debian's chromium driven by Selenium through chromium-driver).

Log in; see `worker-notifications` lag rise while that worker is stopped and fall to 0 after it
restarts, on the overview that refreshes itself; open a dead letter, redrive it, see the count
drop and the mail arrive in the Maildir; trace the event on the lineage page (when the lineage
indexer is installed). A screenshot of each page is kept in the test's tmp dir and copied to
`artifacts/console/` (ignored by git). Every wait is bounded.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pytest

from consumers import dlq
from consumers.shop.testing import notification
from consumers.testing import message_ids, publish, wait_until
from schemas.serde import EventSerializer

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
COMPONENTS = ("smtp", "worker-notifications", "console")
GROUP = "worker-notifications"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
# The worker retries a failed mail after 1, 10 and 60 s before dead-lettering it.
DEAD_LETTER_WAIT_S = 240
WAIT_S = 120

pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
    "chromium-driver)",
)


@pytest.fixture(scope="module")
def console_stack(stack, settings):
    stack.up(only=set(COMPONENTS))
    yield stack
    for name in reversed(COMPONENTS):
        stack.stop(name)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(90)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory, browser):
    """shot(name): a screenshot of the current page, kept as a test artifact."""
    folder = tmp_path_factory.mktemp("console-screenshots")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS.parent / ".gitignore").write_text("*\n")
    taken = []

    def shot(name: str) -> Path:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        assert browser.save_screenshot(str(path)), name
        shutil.copy(path, ARTIFACTS / path.name)
        taken.append(path)
        return path

    return shot


@pytest.fixture(scope="module")
def console(console_stack, browser, shots):
    """The browser logged in as the stack's dev operator; the console's status entry."""
    info = console_stack.status()["console"]
    browser.get(info["url"] + "/")
    assert "/login/" in browser.current_url
    browser.find_element(By.ID, "id_username").send_keys(info["username"])
    browser.find_element(By.ID, "id_password").send_keys(info["password"])
    shots("login")
    browser.find_element(By.ID, "login").click()
    wait(browser, 60).until(lambda d: d.find_elements(By.ID, "components"))
    assert "(operator)" in browser.find_element(By.ID, "who").text
    return info


def wait(browser, timeout_s: float) -> WebDriverWait:
    """A bounded wait that rides out the overview swapping its content under it."""
    return WebDriverWait(browser, timeout_s, poll_frequency=1, ignored_exceptions=(
        NoSuchElementException, StaleElementReferenceException))


def _shown_lag(browser) -> int | None:
    cells = browser.find_elements(By.ID, f"lag-{GROUP}")
    return int(cells[0].get_attribute("data-lag")) if cells else None


def _notifications(settings, registry_client, count: int, tag: str) -> list[dict]:
    events = [notification(n, "welcome", name=f"Console {tag} {n}") for n in range(count)]
    publish(settings, EventSerializer(registry_client), "shop.notifications",
            "NotificationRequested", events, key_field="user_id")
    return events


def _mail_ids(events) -> set[str]:
    return {f"<{e['event_id']}@event-pipeline.local>" for e in events}


def test_lag_rises_while_the_worker_is_stopped_and_falls_to_zero_after_it_restarts(
    console, console_stack, browser, shots, settings, registry_client
):
    maildir = console_stack.status()["smtp"]["maildir"]
    tag = uuid.uuid4().hex[:6]
    warmup = _notifications(settings, registry_client, 9, tag)
    wait_until(lambda: _mail_ids(warmup) <= set(message_ids(maildir)), WAIT_S,
               what="the warm-up mails")
    browser.get(console["url"] + "/")
    # No reload from here on: the overview refreshes itself.
    wait(browser, WAIT_S).until(lambda d: _shown_lag(d) == 0)
    shots("overview-caught-up")

    console_stack.stop("worker-notifications")
    backlog = _notifications(settings, registry_client, 30, tag + "b")
    wait(browser, WAIT_S).until(lambda d: (_shown_lag(d) or 0) >= len(backlog))
    shots("overview-lag-while-stopped")
    browser.get(console["url"] + f"/groups/{GROUP}/")
    # The worker's static membership (group.instance.id) may keep its member listed until
    # the session times out; the lag is what shows it is not consuming.
    assert int(browser.find_element(By.ID, "group-lag").text) >= len(backlog)
    shots("group-stopped")

    console_stack.start("worker-notifications")
    browser.get(console["url"] + "/")
    wait(browser, WAIT_S).until(lambda d: _shown_lag(d) == 0)
    shots("overview-lag-back-to-zero")
    wait_until(lambda: _mail_ids(backlog) <= set(message_ids(maildir)), WAIT_S,
               what="the backlog's mails")


def test_every_page_shows_in_the_browser(console, browser, shots):
    pages = {
        "topics": ("/topics/", "topics"),
        "topic-browser": ("/topics/shop.notifications/?browse=1&from=beginning&limit=20"
                          "&where=event_type%3DNotificationRequested", "messages"),
        "groups": ("/groups/", "groups"),
        "group": (f"/groups/{GROUP}/", "members"),
        "offsets-reset-plan": (f"/groups/{GROUP}/reset?to=end", "plan"),
        "dead-letters": ("/deadletters/", "dead-letters"),
        "audit-log": ("/audit/", "audit"),
    }
    for name, (path, element) in pages.items():
        browser.get(console["url"] + path)
        wait(browser, 60).until(lambda d, e=element: d.find_elements(By.ID, e))
        assert not browser.find_elements(By.CLASS_NAME, "problem"), (
            name, [p.text for p in browser.find_elements(By.CLASS_NAME, "problem")])
        if name == "topic-browser":
            assert "***" in browser.find_element(By.ID, "messages").text  # recipients masked
        shots(name)


def test_a_dead_letter_is_opened_redriven_and_its_mail_arrives(
    console, console_stack, browser, shots, settings, registry_client
):
    maildir = console_stack.status()["smtp"]["maildir"]
    before = dlq.summary(settings, GROUP, missing_ok=True).pending
    console_stack.stop("smtp")
    try:
        [event] = _notifications(settings, registry_client, 1, uuid.uuid4().hex[:6])
        wait_until(lambda: dlq.summary(settings, GROUP).pending > before, DEAD_LETTER_WAIT_S,
                   interval_s=2, what="the mail's dead letter after its retries")
    finally:
        console_stack.start("smtp")

    browser.get(console["url"] + f"/deadletters/{GROUP}/")
    letter = next(el for el in browser.find_elements(By.CSS_SELECTOR, "details.letter.pending")
                  if event["event_id"] in el.text)
    assert "attempts" in letter.text and "shop.notifications[" in letter.text
    pending = int(browser.find_element(By.ID, "dlq-pending").get_attribute("data-pending"))
    assert pending == before + 1
    shots("dead-letter-opened")

    browser.find_element(By.ID, "redrive-all").click()
    wait(browser, 60).until(lambda d: d.find_elements(By.ID, "confirm-redrive"))
    shots("redrive-confirmation")
    browser.find_element(By.ID, "confirm-redrive").click()
    wait(browser, 90).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                               ".messages .success"))
    assert f"{pending} dead letter(s) of {GROUP} redriven" in browser.find_element(
        By.CSS_SELECTOR, ".messages").text
    assert browser.find_element(By.ID, "dlq-pending").get_attribute("data-pending") == "0"
    shots("redriven")

    wait_until(lambda: _mail_ids([event]) <= set(message_ids(maildir)), WAIT_S,
               what="the redriven mail in the Maildir")
    browser.get(console["url"] + "/")
    wait(browser, WAIT_S).until(
        lambda d: d.find_element(By.ID, f"dlq-{GROUP}").get_attribute("data-pending") == "0")
    browser.get(console["url"] + "/audit/")
    assert "redrive" in browser.find_element(By.ID, "audit").text
    shots("audit-after-redrive")


def test_the_lineage_page_traces_an_event(console, console_stack, browser, shots, settings,
                                          registry_client):
    pytest.importorskip("consumers.lineage.query",
                        reason="the lineage indexer (consumers.lineage) is not installed yet")
    if "lineage" not in {c.name for c in console_stack.components()}:
        pytest.skip("the lineage indexer declares no `lineage` component yet")
    console_stack.up(only={"lineage"})
    try:
        [event] = _notifications(settings, registry_client, 1, uuid.uuid4().hex[:6])
        browser.get(console["url"] + "/lineage/")
        field = browser.find_element(By.ID, "trace-id")

        def traced(d) -> bool:
            d.get(console["url"] + f"/lineage/?q={event['event_id']}")
            tree = d.find_elements(By.ID, "trace-tree")
            return bool(tree) and "NotificationRequested" in tree[0].text and any(
                "worker-notifications" in e.text for e in d.find_elements(By.CLASS_NAME,
                                                                            "effect"))

        assert field is not None
        wait(browser, WAIT_S).until(traced)
        shots("lineage-trace")
    finally:
        console_stack.stop("lineage")


def test_an_order_placed_through_the_api_is_traced_in_the_browser(console, console_stack, browser,
                                                                  shots):
    """The whole shop running: an order placed through the HTTP API shows on the lineage page
    with what it caused: the confirmation mail (the notifications worker's effect), the
    inventory level and the search document."""
    import httpx

    from deploy.stack import INFRASTRUCTURE

    started = [c.name for c in console_stack.components()
               if c.name not in INFRASTRUCTURE and c.name not in COMPONENTS]
    console_stack.up()
    try:
        report = console_stack.status()
        api = httpx.Client(base_url=report["django"]["url"], timeout=30, headers={
            "Authorization": f"Token {report['django']['api_token']}"})
        tag = uuid.uuid4().hex[:8]
        product = api.post("/api/products/", json={"sku": f"TRACE-{tag}", "name": "Kettle",
                                                   "price_cents": 1500, "stock": 5})
        assert product.status_code == 201, product.text
        user = api.post("/api/users/", json={"email": f"trace-{tag}@example.com",
                                             "name": "Grace Hopper"})
        assert user.status_code == 201, user.text
        order = api.post("/api/orders/", json={"user_id": user.json()["user_id"],
                                               "lines": [{"sku": f"TRACE-{tag}", "quantity": 1}]})
        assert order.status_code == 201, order.text
        order_id = order.json()["order_id"]

        def traced(d) -> bool:
            d.get(console["url"] + f"/lineage/?q={order_id}")
            tree = d.find_elements(By.ID, "trace-tree")
            if not tree:
                return False
            text = tree[0].text
            caused = ("OrderPlaced", "NotificationRequested", "InventoryLevel",
                      "SearchDocumentUpserted")
            mailed = any(GROUP in e.text for e in d.find_elements(By.CLASS_NAME, "effect"))
            return all(name in text for name in caused) and mailed

        wait(browser, 180).until(traced)
        shots("lineage-order")
    finally:
        for name in reversed(started):
            console_stack.stop(name)
