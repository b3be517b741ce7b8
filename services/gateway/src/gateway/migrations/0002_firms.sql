-- Firms and designations, projected from the firms service's events, shaped for the GraphQL queries.
-- No foreign keys: a designation may arrive before its firm, a firm before its technologies.
create table firms (
    brn text primary key,
    brn_display text not null,
    name_en text not null,
    name_ko text not null,
    size text not null,
    size_since date not null,
    region text not null,
    mpe_sales_ratio double precision,
    -- A firm keeps its technologies when the catalog retires them.
    technology_codes text[] not null,
    confirmations jsonb not null,
    version int not null,
    updated_at timestamptz not null default now()
);
-- Technology.firms and the firms(filter: {technology}) filter: array containment.
create index firms_technologies on firms using gin (technology_codes);
create index firms_size on firms (size, brn);
create index firms_region on firms (region, brn);

create table designations (
    id uuid primary key,
    brn text not null,
    kind text not null,
    cohort int,
    technology_codes text[] not null,
    status text not null,
    applied_on date not null,
    designated_on date,
    valid_until date,
    -- The effective_on of the first move to revoked or expired, taken from the history at
    -- projection time so that "active on day D" is a plain comparison.
    ended_on date,
    history jsonb not null,
    version int not null,
    updated_at timestamptz not null default now()
);
-- Firm.designations (per firm, in applied order) and the firms filter on kind and status.
create index designations_firm on designations (brn, applied_on, id);
create index designations_firm_kind_status on designations (brn, kind, status);
-- Technology.designations.
create index designations_technologies on designations using gin (technology_codes);
-- designationProgress: leading designations by the day they were designated.
create index designations_leading on designations (designated_on, brn)
    where kind = 'leading' and designated_on is not null;
