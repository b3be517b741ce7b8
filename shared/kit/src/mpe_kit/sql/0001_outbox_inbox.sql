-- The transactional outbox: written in the same transaction as the aggregate change,
-- sent to Kafka by the relay, marked once Kafka acknowledged it.
create table outbox (
    id uuid primary key,
    -- Orders the relay's reads only; never used as a cursor (sequences commit out of order).
    seq bigint generated always as identity,
    topic text not null,
    key text not null,
    type text not null,
    source text not null,
    subject text not null,
    time timestamptz not null default now(),
    traceparent text not null,
    payload jsonb not null,
    published_at timestamptz
);
create index outbox_unpublished on outbox (seq) where published_at is null;
create index outbox_published_at on outbox (published_at) where published_at is not null;

create function outbox_notify() returns trigger language plpgsql as $$
begin
    perform pg_notify('mpe_outbox', '');
    return null;
end $$;

create trigger outbox_notify after insert on outbox
    for each statement execute function outbox_notify();

-- The inbox: which events a consumer has applied, so a re-delivered event is applied once.
create table inbox (
    consumer text not null,
    event_id uuid not null,
    topic text not null,
    applied_at timestamptz not null default now(),
    primary key (consumer, event_id)
);
