create table fiscal_years (
    year int primary key check (year between 2000 and 2100),
    envelope_krw bigint not null check (envelope_krw >= 0),
    version int not null default 1,
    updated_at timestamptz not null default now()
);

create table programs (
    code text primary key,
    fiscal_year int not null references fiscal_years (year),
    name_en text not null,
    name_ko text not null,
    kind text not null check (kind in ('rnd', 'alchemist', 'infrastructure', 'other')),
    track text,
    budget_krw bigint not null check (budget_krw >= 0),
    themes jsonb not null default '[]',
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
);
create index programs_year on programs (fiscal_year, code);

create table projects (
    code text primary key,
    program_code text not null references programs (code),
    fiscal_year int not null,
    title text not null,
    kind text not null check (kind in ('new', 'continuing')),
    continues text references projects (code),
    technology_codes text[] not null,
    lead_firm_brn text,
    government_krw bigint not null check (government_krw >= 0),
    private_cash_krw bigint not null check (private_cash_krw >= 0),
    private_in_kind_krw bigint not null check (private_in_kind_krw >= 0),
    start_on date not null,
    end_on date not null,
    status text not null check (
        status in ('proposed', 'selected', 'agreement_signed', 'active', 'completed', 'terminated')
    ),
    committed_krw bigint not null default 0 check (committed_krw >= 0),
    disbursed_krw bigint not null default 0 check (disbursed_krw >= 0 and disbursed_krw <= government_krw),
    history jsonb not null default '[]',
    version int not null default 1,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    check (end_on > start_on),
    check ((kind = 'continuing') = (continues is not null))
);
create index projects_program on projects (program_code, code);
create index projects_year on projects (fiscal_year, code);
create index projects_technologies on projects using gin (technology_codes);
create index projects_firm on projects (lead_firm_brn);

create table disbursements (
    id uuid primary key,
    project_code text not null references projects (code),
    amount_krw bigint not null check (amount_krw > 0),
    paid_on date not null,
    created_by text not null,
    created_at timestamptz not null default now()
);
create index disbursements_project on disbursements (project_code, paid_on);

-- Idempotency keys of disbursement requests: the first answer is kept and replayed.
create table idempotency_keys (
    key text primary key,
    request_hash text not null,
    state text not null check (state in ('running', 'done')),
    status_code int,
    response jsonb,
    created_at timestamptz not null default now()
);

-- The size class of firms, replicated from the firms service's events.
create table firm_replica (
    brn text primary key,
    size text not null,
    size_since date not null,
    version int not null,
    updated_at timestamptz not null default now()
);
