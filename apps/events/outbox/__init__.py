"""The transactional outbox and everything around it: the RabbitMQ topology, publishing after
commit (relay) or later (sweep), events fanned out to subscribers, the consumers' inbox and dead
letters. Knows nothing of webhooks."""
