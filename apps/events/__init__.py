"""Messaging, in two halves (one Django app, label ``events``):

- ``apps.events.outbox``: the RabbitMQ topology, the transactional outbox and its relay and
  sweep, events published to subscribers, deduplicating consumers (the inbox) and the
  dead-letter queue operators inspect and replay from the admin;
- ``apps.events.webhooks``: merchants' webhook endpoints, the event-type catalogue, events and
  their signed deliveries and attempts. Deliveries are handed to workers through the outbox.

Webhooks depend on the outbox, never the reverse. The modules at the root only put the halves
together for Django and Celery (``models``, ``admin``, ``tasks``).
"""
