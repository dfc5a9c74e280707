"""faust-streaming's client, aiokafka, works with the broker we run (produce, group consume)."""

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def test_aiokafka_produces_and_consumes_in_a_group(settings, make_topic, unique):
    topic = make_topic("aiokafka", partitions=3)

    async def scenario():
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers, enable_idempotence=True
        )
        await producer.start()
        try:
            for i in range(30):
                await producer.send_and_wait(topic, f"v{i}".encode(), key=f"k{i}".encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=settings.bootstrap_servers,
            group_id=f"aiokafka-{unique}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        seen = []
        try:
            for _ in range(30):
                batch = await consumer.getmany(timeout_ms=1000)
                seen += [m.value for msgs in batch.values() for m in msgs]
                if len(seen) >= 30:
                    break
            await consumer.commit()
        finally:
            await consumer.stop()
        return seen

    seen = asyncio.run(asyncio.wait_for(scenario(), timeout=120))
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(30))
