"""Property-based test of the running shop from its own OpenAPI schema (schemathesis).

For every operation of GET /api/schema/, schema-valid and schema-violating requests go to the
session stack's gunicorn with the dev token. Whatever they hold:
- no 500; the status code, content type and body are the ones the schema documents;
- every 400 names the rejected fields (keys of the request body; `non_field_errors` or `detail`
  only when the body is not a JSON object);
- no rejected request (4xx) writes an outbox row: the highest outbox id is the same after it.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from producer_django.testing import query

# About 11 operations x this many examples x 2 modes (valid, invalid): ~1-2 minutes.
EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
BODY_LEVEL_KEYS = {"non_field_errors", "detail"}


@pytest.fixture(scope="module")
def shop_api_schema(shop):
    return schemathesis.openapi.from_url(shop.url + "/api/schema/")


@pytest.fixture(scope="module")
def request_fields(shop) -> dict[tuple[str, str], set[str]]:
    """(METHOD, path template) -> the properties of its JSON request body."""
    raw = shop.http.get("/api/schema/").json()
    components = raw["components"]["schemas"]
    fields = {}
    for path, item in raw["paths"].items():
        for method, op in item.items():
            ref = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
                   .get("schema", {}).get("$ref"))
            if ref:
                fields[(method.upper(), path)] = set(components[ref.rsplit("/", 1)[1]]
                                                     .get("properties", {}))
    return fields


def last_outbox_id(shop) -> int:
    return query(shop.db_url, "SELECT COALESCE(MAX(id), 0) FROM events_outbox")[0][0]


def assert_names_fields(case, response, request_fields) -> None:
    body = response.json()
    assert isinstance(body, dict) and body, f"400 without field errors: {response.text}"
    if not isinstance(case.body, dict):
        return  # the body as a whole is wrong: non_field_errors / detail name it
    allowed = request_fields[(case.operation.method.upper(), case.operation.path)]
    unnamed = set(body) - allowed
    assert not unnamed - {"non_field_errors"}, (
        f"400 names {sorted(unnamed)}, not fields of the request ({sorted(allowed)}): "
        f"{response.text}")


@pytest.fixture(scope="module")
def existing(shop) -> dict[str, str]:
    """Path parameters naming a real product and a real placed order, so that generated bodies
    also reach the state checks (stock floor and cap, order status) and not only the 404."""
    prefix = "f" + uuid.uuid4().hex[:10]
    sku = f"{prefix}-fuzz"
    assert shop.post("/api/products/", {"sku": sku, "name": "Fuzz", "price_cents": 100,
                                        "stock": 50}).status_code == 201
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "F"}).json()
    order = shop.post("/api/orders/", {"user_id": user["user_id"],
                                       "lines": [{"sku": sku, "quantity": 1}]}).json()
    return {"sku": sku, "order_id": order["order_id"]}


def fuzz(operation, mode, shop, request_fields, seen: Counter, path: dict | None = None) -> None:
    """EXAMPLES_PER_OPERATION generated requests of one mode to one operation."""
    auth = {"Authorization": f"Token {shop.token}"}
    strategy = operation.as_strategy(generation_mode=mode, headers=auth, path_parameters=path)

    @given(case=strategy)
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def one_request(case):
        before = last_outbox_id(shop)
        response = case.call(headers=auth, timeout=30)
        seen[(operation.label, response.status_code)] += 1
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            assert last_outbox_id(shop) == before, (
                f"{case.operation.method.upper()} {case.formatted_path} answered "
                f"{response.status_code} but wrote an outbox row: {response.text}")
        if response.status_code == 400:
            assert_names_fields(case, response, request_fields)

    one_request()


def test_no_generated_request_breaks_the_api_or_writes_when_rejected(
    shop, shop_api_schema, request_fields, existing
):
    failures, operations, seen = [], 0, Counter()
    for result in shop_api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        names = re.findall(r"{(\w+)}", operation.path)
        if names:
            runs.append((GenerationMode.POSITIVE, {n: existing[n] for n in names}))
        for mode, path in runs:
            try:
                fuzz(operation, mode, shop, request_fields, seen, path)
            except Exception as exc:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{operation.label} ({mode.value}, path {path}): {exc}")
    assert operations >= 11, f"the schema describes only {operations} operations"
    assert not failures, "\n\n".join(failures)
    print(*sorted(seen.items()), sep="\n")
    # The fuzz reached past authentication and validation: writes were accepted and rejected.
    codes = Counter(code for (_, code), n in seen.items() for _ in range(n))
    assert codes[201] and codes[400] and codes[404], codes


def test_generated_orders_of_real_products_keep_stock_exact(shop, shop_api_schema):
    """Orders that can succeed: a real user, real and unknown skus, any quantities. Stock ends
    at exactly what the accepted orders took, and rejected ones write nothing."""
    prefix = "o" + uuid.uuid4().hex[:10]
    stock = {f"{prefix}-a": 30, f"{prefix}-b": 5}
    for sku, on_hand in stock.items():
        assert shop.post("/api/products/", {"sku": sku, "name": sku, "price_cents": 250,
                                            "stock": on_hand}).status_code == 201
    user = shop.post("/api/users/", {"email": f"{prefix}@example.com", "name": "O"}).json()
    operation = shop_api_schema["/api/orders/"]["POST"]
    auth = {"Authorization": f"Token {shop.token}"}
    taken, seen = Counter(), Counter()
    # Mostly orders that may go through, some that cannot (an unknown sku, quantity 0, none).
    line = st.fixed_dictionaries({
        "sku": st.sampled_from([*stock, *stock, *stock, f"{prefix}-unknown"]),
        "quantity": st.integers(min_value=0, max_value=12),
    })

    @given(lines=st.lists(line, max_size=3))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    def one_order(lines):
        case = operation.Case(body={"user_id": user["user_id"], "lines": lines},
                              media_type="application/json")
        before = last_outbox_id(shop)
        response = case.call(headers=auth, timeout=30)
        seen[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
        if response.status_code == 201:
            for each in lines:
                taken[each["sku"]] += each["quantity"]
        else:
            assert last_outbox_id(shop) == before, response.text

    one_order()
    assert seen[201] and seen[400] and seen[409], seen
    for sku, on_hand in stock.items():
        assert shop.http.get(f"/api/products/{sku}/").json()["stock"] == on_hand - taken[sku]
