"""Messaging: the RabbitMQ topology, the transactional outbox, deduplicating consumers and
the dead-letter queue operators inspect and replay from the admin."""
