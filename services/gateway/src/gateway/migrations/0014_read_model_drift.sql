-- What the tables the triggers keep (migrations 0011 to 0013) hold that a recomputation from the
-- rows does not give, and the reverse: no row when they agree.
--
-- The links and the sums are moved by delta, statement by statement, and nothing but the
-- triggers writes them, so they stay exact; the tests check that after random statements. This
-- lets anyone check it on a running read model: `gateway check` prints these rows, and the chaos
-- verdict counts them as mismatched rows after its faults. Each table is read whole (at 100x
-- 20,514 projects and 40,789 project links, 0.38 s): an occasional check, not a hot path.
--
-- `found_in` says where a row is: 'kept' (the table has it, the recomputation does not give
-- it) or 'rows' (the recomputation gives it, the table does not have it). A row kept with a
-- wrong value shows once on each side.
create function read_model_drift() returns table (kept_table text, found_in text, row_value text)
language sql stable as $$
    with
    project_links as (select technology_code, fiscal_year, project_code from project_technologies),
    project_links_rows as (
        select distinct c.code, p.fiscal_year, p.code
        from projects p cross join lateral unnest(p.technology_codes) c(code) where c.code is not null
    ),
    designation_links as (
        select technology_code, applied_on, designation_id, status from designation_technologies
    ),
    designation_links_rows as (
        select distinct c.code, d.applied_on, d.id, d.status
        from designations d cross join lateral unnest(d.technology_codes) c(code) where c.code is not null
    ),
    counted as (
        select p.*, (p.committed_krw > 0
            or p.status in ('selected', 'agreement_signed', 'active', 'completed')) as counts
        from projects p
    ),
    funding as (
        select technology_code, fiscal_year, committed_krw, disbursed_krw, project_count::bigint,
            project_links::bigint
        from technology_year_funding
    ),
    funding_rows as (
        select u.code, p.fiscal_year, sum(p.committed_krw)::bigint, sum(p.disbursed_krw)::bigint,
            count(*) filter (where p.counts), count(*)
        from counted p cross join lateral (select distinct c from unnest(p.technology_codes) c) u(code)
        where u.code is not null group by u.code, p.fiscal_year
    ),
    year_sums as (
        select fiscal_year, technology_code, committed_krw, disbursed_krw, government_krw,
            private_cash_krw, private_in_kind_krw, project_count::bigint, new_count::bigint,
            continuing_count::bigint, project_rows::bigint
        from year_technology_sums
    ),
    year_sums_rows as (
        select p.fiscal_year, coalesce(p.primary_technology, ''), sum(p.committed_krw)::bigint,
            sum(p.disbursed_krw)::bigint,
            coalesce(sum(p.government_krw) filter (where p.counts), 0)::bigint,
            coalesce(sum(p.private_cash_krw) filter (where p.counts), 0)::bigint,
            coalesce(sum(p.private_in_kind_krw) filter (where p.counts), 0)::bigint,
            count(*) filter (where p.counts), count(*) filter (where p.counts and p.kind = 'new'),
            count(*) filter (where p.counts and p.kind = 'continuing'), count(*)
        from counted p group by 1, 2
    )
    select 'project_technologies', 'kept', x::text from (table project_links except table project_links_rows) x
    union all
    select 'project_technologies', 'rows', x::text from (table project_links_rows except table project_links) x
    union all
    select 'designation_technologies', 'kept', x::text
    from (table designation_links except table designation_links_rows) x
    union all
    select 'designation_technologies', 'rows', x::text
    from (table designation_links_rows except table designation_links) x
    union all
    select 'technology_year_funding', 'kept', x::text from (table funding except table funding_rows) x
    union all
    select 'technology_year_funding', 'rows', x::text from (table funding_rows except table funding) x
    union all
    select 'year_technology_sums', 'kept', x::text from (table year_sums except table year_sums_rows) x
    union all
    select 'year_technology_sums', 'rows', x::text from (table year_sums_rows except table year_sums) x
    order by 1, 2, 3
$$;
