-- A payment repeated under its Idempotency-Key gets the first answer back, and now the write
-- token of the transaction that paid it too (a probe of the gateway found it missing): a client
-- that lost the first answer and repeated the request could not make its next GraphQL read wait
-- for its own payment. The transaction's id and how many events it committed are kept with the
-- answer; null for an answer that wrote nothing (a refusal) and for answers kept before this.
alter table idempotency_keys add column write_txid bigint, add column write_events int;
