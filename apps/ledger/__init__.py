"""The double-entry ledger: accounts, transfers and their history, and the posting engine.

Every fils fincore moves goes through here. The model follows TigerBeetle's accounts and
transfers; its invariants are PostgreSQL constraints and triggers, so no code path — raw SQL
included — can break them. Other apps use the ledger through its services and selectors.
"""
