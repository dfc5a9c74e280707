from __future__ import annotations

import pytest

from consumers.handler import PermanentFailure
from consumers.shop.mail import REQUIRED_PARAMS, message_id, render

PARAMS = {
    "welcome": {"name": "Ann"},
    "order_confirmation": {"name": "Ann", "order_id": "o-1", "total_cents": "1205"},
    "order_shipped": {"name": "Ann", "order_id": "o-1", "carrier": "DHL",
                      "tracking_number": "T123"},
    "low_stock": {"sku": "SKU-9", "on_hand": "2", "threshold": "5"},
}


@pytest.mark.parametrize("template", sorted(REQUIRED_PARAMS))
def test_every_contract_template_renders(template):
    subject, body = render(template, PARAMS[template])
    assert subject and "\n" not in subject
    for value in PARAMS[template].values():
        if value != "1205":
            assert value in subject + body
    assert "{{" not in body


def test_totals_are_rendered_from_cents():
    _subject, body = render("order_confirmation", PARAMS["order_confirmation"])
    assert "Total: 12.05." in body


def test_missing_params_and_unknown_templates_are_permanent_failures():
    with pytest.raises(PermanentFailure, match=r"needs params \['carrier', 'tracking_number'\]"):
        render("order_shipped", {"name": "Ann", "order_id": "o-1"})
    with pytest.raises(PermanentFailure, match="unknown notification template 'birthday'"):
        render("birthday", {})


def test_message_id_is_derived_from_the_event_id():
    assert message_id("e-1", "example.test") == "<e-1@example.test>"
