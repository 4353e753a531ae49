"""Scale-out: workers over NATS JetStream, async submission, webhooks, backfill.

The same `Pipeline` runs here as in the API and CLI; only the wiring differs. Events reach the
workers through a durable JetStream stream and are acked only after their decision committed, so
a killed worker's events are redelivered; the events table's primary key makes redelivery
harmless.
"""
