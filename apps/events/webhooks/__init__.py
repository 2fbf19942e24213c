"""Merchants' webhooks: endpoints, the catalogue of event types, events and their signed
deliveries, retried from the database's schedule and handed to workers through the outbox."""
