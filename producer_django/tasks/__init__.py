"""Background tasks on Kafka for Django developers coming from Celery (see the README)."""
