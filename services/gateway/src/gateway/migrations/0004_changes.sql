-- The change log: one row per entity of the read model that a projection changed, appended in the
-- same transaction as the change. A stale or duplicate event changes nothing and appends nothing.
-- Appenders take a transaction-level advisory lock before the insert (repository.append_change),
-- so seq follows commit order even with several projector instances: a reader paging by seq never
-- meets a row that commits later with a lower seq. applied_at is the clock when the row was
-- appended, under that lock, so it rises with seq.
create table changes (
    seq bigint generated always as identity primary key,
    entity_type text not null,
    entity_key text not null,
    version int not null,
    applied_at timestamptz not null,
    event_id uuid not null
);
-- changes(since: ...): where the feed starts for an instant.
create index changes_applied on changes (applied_at, seq);
-- changes(types: ...) and subscriptions: one entity type's rows in seq order.
create index changes_type on changes (entity_type, seq);
