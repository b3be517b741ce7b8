-- When the projector last saw each source partition complete (its position at the broker's
-- high-water mark): `extensions.dataAsOf` is the oldest of these times.
alter table source_positions add column caught_up_at timestamptz;

-- Read-your-writes: per write (the producing service's transaction, `ce_mpewrite`), how many of
-- its events the projector has applied, counted in the same commit as the data.
create table write_progress (
    source text not null,
    txid bigint not null,
    events int not null,
    updated_at timestamptz not null default now(),
    primary key (source, txid)
);
create index write_progress_updated on write_progress (updated_at);
