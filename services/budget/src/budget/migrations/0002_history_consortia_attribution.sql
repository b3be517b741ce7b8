-- Money over time, consortia and attribution (issue 10).

-- Each history step gets the calendar day in Korea it took effect; steps recorded before this
-- column existed took effect the day they were recorded.
update projects set history = (
    select jsonb_agg(
        s || jsonb_build_object('effective_on', ((s ->> 'at')::timestamptz at time zone 'Asia/Seoul')::date)
        order by n
    )
    from jsonb_array_elements(history) with ordinality as h (s, n)
)
where history <> '[]';

alter table projects
    add column chain_root text,
    add column participants jsonb not null default '[]',
    add column program_kind text,
    add column track text,
    add column selected_on date,
    add column lead_firm_size text check (lead_firm_size in ('large', 'mid', 'sme')),
    add column lead_firm_region text;

-- The chain of yearly records: a record is continued by at most one record of the next year.
create unique index projects_continued_once on projects (continues) where continues is not null;

with recursive chain (code, root) as (
    select code, code from projects where continues is null
    union all
    select p.code, c.root from projects p join chain c on p.continues = c.code
)
update projects p set chain_root = chain.root from chain where chain.code = p.code;

update projects j set program_kind = p.kind, track = p.track from programs p where p.code = j.program_code;

update projects p set selected_on = (
    select min((s ->> 'effective_on')::date) from jsonb_array_elements(p.history) s
    where s ->> 'to_status' = 'selected'
);

update projects p set lead_firm_size = f.size from firm_replica f where f.brn = p.lead_firm_brn;

alter table projects
    alter column chain_root set not null,
    alter column program_kind set not null;

-- The projects a firm takes part in, or a foreign country: containment queries on the consortium.
create index projects_participants on projects using gin (participants jsonb_path_ops);

alter table firm_replica add column region text;
