"""Every write of webhooks: ``endpoints`` (an endpoint's life, its secrets, its health) and
``deliveries`` (events, their deliveries and attempts), which builds on ``endpoints``."""
