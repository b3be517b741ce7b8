create table firms (
    brn text primary key check (brn ~ '^\d{10}$'),
    name_en text not null,
    name_ko text not null,
    size text not null check (size in ('large', 'mid', 'sme')),
    size_since date not null,
    region text not null,
    mpe_sales_ratio numeric(5, 4) check (mpe_sales_ratio between 0 and 1),
    technology_codes text[] not null,
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index firms_technologies on firms using gin (technology_codes);

create table confirmations (
    id uuid primary key,
    brn text not null references firms (brn),
    technology_code text not null,
    issued_on date not null,
    valid_until date not null,
    created_at timestamptz not null default now(),
    check (valid_until > issued_on)
);
create index confirmations_firm on confirmations (brn, issued_on);

create table designations (
    id uuid primary key,
    brn text not null references firms (brn),
    kind text not null check (kind in ('leading', 'specialized')),
    cohort int check (cohort is null or (kind = 'leading' and cohort > 0)),
    technology_codes text[] not null,
    status text not null check (
        status in ('applied', 'under_review', 'designated', 'rejected', 'withdrawn', 'revoked', 'expired')
    ),
    applied_on date not null,
    designated_on date,
    valid_until date,
    history jsonb not null,
    version int not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index designations_firm on designations (brn, kind);
create index designations_keyset on designations (created_at, id);
create index designations_due on designations (valid_until) where status = 'designated';
create index designations_technologies on designations using gin (technology_codes);
