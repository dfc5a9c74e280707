"""`events`: a reusable Django app that publishes typed Avro events to Kafka through an outbox.

    from producer_django.events.publish import publish

    with transaction.atomic():
        invoice.save()
        publish("InvoiceIssued", {"invoice_id": str(invoice.id), ...})

The row is written in the caller's transaction; `manage.py relay_outbox` delivers it.
Settings: one `PIPELINE` dict (see `conf.DEFAULTS`).
"""
