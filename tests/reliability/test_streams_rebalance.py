"""Two inventory workers share the partitions; one stops and comes back: the rebalance
completes, nothing is lost, and either worker answers for every SKU (faust's routing)."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.serde import EventSerializer
from streams.shop.testing import Workload, inventory_app
from streams.testing import WorkerProcess, free_port, publish, read_topic, wait_until

pytestmark = pytest.mark.integration

CONVERGE_S = 120


def mismatches(worker, expected: dict[str, int]) -> dict:
    bad = {}
    for sku, on_hand in expected.items():
        try:
            response = worker.get(f"/inventory/{sku}", timeout_s=5)
        except Exception as exc:  # noqa: BLE001 - during a rebalance a proxy hop can fail
            bad[sku] = repr(exc)
            continue
        ok = response.status_code == 200
        got = response.json().get("on_hand") if ok else response.status_code
        if got != on_hand:
            bad[sku] = (got, on_hand)
    return bad


def converge(worker, expected: dict[str, int], what: str, history=None) -> None:
    try:
        wait_until(lambda: not mismatches(worker, expected), CONVERGE_S, what)
    except AssertionError:
        pass  # the assertion below names the SKUs that differ
    bad = mismatches(worker, expected)
    detail = history(set(bad)) if bad and history else ""
    assert bad == {}, f"{what}; logs: {worker.log}\n{detail}"


def level_history(settings, registry_client, topic):
    """For a failure message: every InventoryLevel published for the given SKUs."""
    decode = AvroDeserializer(registry_client)

    def history(skus) -> str:
        lines = []
        for msg in read_topic(settings, topic):
            if msg.key().decode() in skus:
                r = decode(msg.value(), SerializationContext(msg.topic(), MessageField.VALUE))
                lines.append(f"{r['sku']} v{r['aggregate_version']} on_hand={r['on_hand']} "
                             f"cause={r['causation_id']} at {msg.partition()}/{msg.offset()}")
        return "\n".join(lines)

    return history


def test_two_workers_then_one_stopped_and_restarted(settings, registry_client, tmp_path, unique):
    serializer = EventSerializer(registry_client)
    first = inventory_app(settings, tmp_path / "a")
    a = first.worker
    b = WorkerProcess("inventory", settings, app_id=a.app_id, workdir=tmp_path / "b",
                      web_port=free_port(), env={k: v for k, v in a.env.items()
                                                 if k not in ("STREAMS_WEB_PORT",
                                                              "STREAMS_DATA_DIR")})
    workload = Workload(seed=23, prefix=f"r{unique}-").mixed(users=3, products=12, steps=60)
    try:
        b.start()
        publish(settings, serializer, workload.take())
        # Each worker owns some SKUs; asking either one routes to the owner.
        converge(a, workload.on_hand, "both workers to apply the first batch")
        converge(b, workload.on_hand, "worker B to answer (routed) for every SKU")

        b.stop()
        publish(settings, serializer, workload.steps(60).take())
        history = level_history(settings, registry_client, first.levels)
        converge(a, workload.on_hand, "worker A to take over B's partitions", history)

        b.start()
        publish(settings, serializer, workload.steps(60).take())
        converge(a, workload.on_hand, "the rebalance after B's return", history)
        converge(b, workload.on_hand, "B to answer again after its return", history)
    finally:
        b.stop()
        a.stop()
