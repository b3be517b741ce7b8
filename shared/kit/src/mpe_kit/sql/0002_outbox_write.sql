-- The transaction that wrote each event, sent as the event's `ce_mpewrite` attribute so that a
-- reader can wait for every event of one write (read-your-writes). Null for older rows.
alter table outbox add column write_txid bigint;
