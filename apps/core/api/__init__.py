"""The plumbing every /api/v1/ endpoint shares: problem details, idempotency keys, cursor
pagination, rate limits and the OpenAPI description of all of these."""
