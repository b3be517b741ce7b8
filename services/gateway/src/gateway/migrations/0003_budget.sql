-- Fiscal years, programs and projects, projected from the budget service's events, shaped for the
-- GraphQL queries. No foreign keys: a project may arrive before its program, its technologies or
-- its lead firm. Money is whole won in bigint; sums are cast back to bigint in the queries.
create table fiscal_years (
    year int primary key,
    envelope_krw bigint not null,
    version int not null,
    updated_at timestamptz not null default now()
);

create table programs (
    code text primary key,
    fiscal_year int not null,
    name_en text not null,
    name_ko text not null,
    kind text not null,
    track text,
    budget_krw bigint not null,
    -- Alchemist themes with their stages, read whole with the program.
    themes jsonb not null,
    version int not null,
    updated_at timestamptz not null default now()
);
-- programs(fiscalYear) and programOverview's programmed sum and byTrack join.
create index programs_year on programs (fiscal_year, code);

create table projects (
    code text primary key,
    program_code text not null,
    fiscal_year int not null,
    title text not null,
    kind text not null,
    continues text,
    technology_codes text[] not null,
    -- programOverview.byIndustry attributes a project to one industry only (its first
    -- technology's), so that the industries' sums add up to the year's.
    primary_technology text generated always as (technology_codes[1]) stored,
    lead_firm_brn text,
    government_krw bigint not null,
    private_cash_krw bigint not null,
    private_in_kind_krw bigint not null,
    start_on date not null,
    end_on date not null,
    status text not null,
    committed_krw bigint not null,
    disbursed_krw bigint not null,
    version int not null,
    updated_at timestamptz not null default now()
);
-- Program.projects, Program's sums and the projects(filter: {program}) filter.
create index projects_program on projects (program_code, code);
-- Technology.projects, Technology.funding, coverageGaps and the {technology} filter.
create index projects_technologies on projects using gin (technology_codes);
-- Firm.projects (newest fiscal year first) and the {firm} filter.
create index projects_lead_firm on projects (lead_firm_brn, fiscal_year desc, code)
    where lead_firm_brn is not null;
-- programOverview, coverageGaps and the {fiscalYear} filter (pages in code order).
create index projects_year on projects (fiscal_year, code);
