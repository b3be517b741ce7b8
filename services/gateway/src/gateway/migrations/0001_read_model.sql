-- The gateway's read model: projected from the catalog's events, shaped for the GraphQL queries.
-- No foreign keys: events of different topics arrive in any order.
create table industries (
    code text primary key,
    name_en text not null,
    name_ko text not null,
    version int not null,
    updated_at timestamptz not null default now()
);

create table technologies (
    code text primary key,
    industry_code text not null,
    kind text not null,
    name_en text not null,
    name_ko text not null,
    description text not null,
    status text not null,
    listed_on date not null,
    retired_on date,
    version int not null,
    revision_id uuid not null,
    updated_at timestamptz not null default now()
);
create index technologies_industry on technologies (industry_code, code);
create index technologies_listed on technologies (listed_on, retired_on);

create table revisions (
    id uuid primary key,
    title text not null,
    decided_on date not null,
    effective_on date not null,
    status text not null,
    published_at timestamptz,
    version int not null,
    updated_at timestamptz not null default now()
);

-- How far each source partition has been projected, written in the same commit as the data.
create table source_positions (
    topic text not null,
    partition int not null,
    next_offset bigint not null,
    highwater bigint,
    last_event_time timestamptz,
    applied_at timestamptz not null default now(),
    primary key (topic, partition)
);

-- Partner API keys: only a SHA-256 of the secret is kept.
create table api_keys (
    id uuid primary key,
    agency text not null,
    scopes text[] not null,
    key_hash bytea not null unique,
    created_at timestamptz not null default now(),
    revoked_at timestamptz
);
