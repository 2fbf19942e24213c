-- bench.ledger's sql_single_tps: one wallet-to-wallet posting per transaction, as the engine writes
-- it (accounts locked in id order, a transfer with a unique client id, its two entries with the
-- balances after, both balances updated in one statement), run by pgbench with prepared statements
-- on the ledger's own tables, triggers and constraints: what this schema costs a single posting
-- with no Python at all. bench_wallets (n, id, merchant_id) is made by bench.ledger's fixture.
\set a random(1, :wallets)
\set b (:a + random(1, :wallets - 1) - 1) % :wallets + 1
\set amount random(1, 10000)
BEGIN;
SELECT w1.id AS debit, w2.id AS credit, w1.merchant_id AS merchant, gen_random_uuid() AS transfer
  FROM bench_wallets w1, bench_wallets w2 WHERE w1.n = :a AND w2.n = :b \gset
SELECT id, debits_pending, debits_posted, credits_pending, credits_posted FROM ledger_account
  WHERE id IN (:debit, :credit) ORDER BY id FOR UPDATE;
INSERT INTO ledger_transfer (created_at, id, livemode, merchant_id, client_id, kind, debit_account_id,
    credit_account_id, currency, amount, code, reference, metadata, effective_at, created_by)
  VALUES (now(), :transfer, true, :merchant, :transfer, 'immediate', :debit, :credit, 'BHD', :amount,
    'transfer', '', '{}', now(), 'bench');
INSERT INTO ledger_entry (posted_at, account_id, transfer_id, side, pending_change, posted_change,
    debits_pending, debits_posted, credits_pending, credits_posted)
  SELECT now(), id, :transfer, CASE WHEN id = :debit THEN 'D' ELSE 'C' END, 0, :amount, debits_pending,
    debits_posted + CASE WHEN id = :debit THEN :amount ELSE 0 END, credits_pending,
    credits_posted + CASE WHEN id = :credit THEN :amount ELSE 0 END
  FROM ledger_account WHERE id IN (:debit, :credit);
UPDATE ledger_account SET last_posted_at = now(),
    debits_posted = debits_posted + CASE WHEN id = :debit THEN :amount ELSE 0 END,
    credits_posted = credits_posted + CASE WHEN id = :credit THEN :amount ELSE 0 END
  WHERE id IN (:debit, :credit);
COMMIT;
