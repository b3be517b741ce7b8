create table industries (
    code text primary key,
    name_en text not null,
    name_ko text not null,
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);

create table revisions (
    id uuid primary key,
    title text not null,
    decided_on date not null,
    effective_on date not null,
    status text not null check (status in ('draft', 'published')),
    changes jsonb not null,
    version int not null default 1,
    created_by text not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    published_by text,
    published_at timestamptz
);
create index revisions_keyset on revisions (created_at, id);

create table technologies (
    code text primary key,
    industry_code text not null references industries (code),
    kind text not null check (kind in ('material', 'part', 'equipment')),
    name_en text not null,
    name_ko text not null,
    description text not null,
    status text not null check (status in ('listed', 'retired')),
    listed_on date not null,
    retired_on date,
    version int not null,
    revision_id uuid not null references revisions (id),
    updated_at timestamptz not null default now(),
    check ((status = 'retired') = (retired_on is not null)),
    check (retired_on is null or retired_on > listed_on)
);
create index technologies_industry on technologies (industry_code, code);

-- Which revisions touched a technology, for its history.
create table technology_history (
    technology_code text not null references technologies (code),
    revision_id uuid not null references revisions (id),
    op text not null check (op in ('add', 'retire', 'amend')),
    effective_on date not null,
    version int not null,
    primary key (technology_code, revision_id)
);
