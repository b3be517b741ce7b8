-- A technology's funding per fiscal year moved by what each statement changed, no longer summed
-- again over every project of the (technology, year) on each change.
--
-- 0011 recomputed a pair's sums from all its projects whenever one of them changed: a cost per
-- event that grew with the pair. A soak that put every new project on one technology of one
-- year (deploy/soak) made it thousands of rows read per event within minutes. Now the trigger
-- adds what the statement's new rows bring to their pairs and takes away what its old rows
-- brought, in the writing transaction, from the same transition tables that move the links:
-- the sums stay exact because nothing else writes projects' links or sums, and
-- test_technology_links.py compares them with a recomputation after random statements.
-- `project_links` counts a pair's linked projects, so that a pair left with none loses its row.
--
-- Two transactions changing projects of one pair: `insert ... on conflict do update` adds to the
-- row as the other one committed it (or waits for its uncommitted insert), so neither's share is
-- lost; the rows are written in key order, so two such transactions do not deadlock on them.

-- No CHECK (project_links >= 0): Postgres checks it on the row an upsert proposes to insert,
-- before it finds the conflict, and that row carries a mere delta. The trigger checks instead.
alter table technology_year_funding add column project_links int not null default 0;

update technology_year_funding f set project_links = k.n
from (select technology_code, fiscal_year, count(*)::int as n
      from project_technologies group by technology_code, fiscal_year) k
where f.technology_code = k.technology_code and f.fiscal_year = k.fiscal_year;

-- What the trigger reads of a project row, and what that row brings to one of its technologies:
-- its link and its share of the sums (`counted` as store.budget.counted, 1 or 0).
create type project_funding_row as (
    code text,
    fiscal_year int,
    technology_codes text[],
    committed_krw bigint,
    disbursed_krw bigint,
    status text
);
create type project_technology_share as (
    technology_code text,
    fiscal_year int,
    project_code text,
    committed_krw bigint,
    disbursed_krw bigint,
    counted int
);

-- The shares of some rows, one per distinct code a row carries, in (project, code) order, so
-- that the shares of equal links compare equal.
create function project_technology_shares(project_rows project_funding_row[]) returns project_technology_share[]
-- PL/pgSQL, not SQL: it keeps its plan for the session, where a SQL function would be planned on
-- every call (0.36 against 0.20 ms of Postgres CPU per one-row update, bench_funding_pairs.py).
language plpgsql immutable as $$
begin
    return (
        select coalesce(array_agg(row(c.code, r.fiscal_year, r.code, r.committed_krw, r.disbursed_krw,
            (r.committed_krw > 0 or r.status in ('selected', 'agreement_signed', 'active', 'completed'))::int
            )::project_technology_share order by r.code, c.code), '{}')
        from unnest(project_rows) r cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null
    );
end $$;

-- As 0011's, with the sums moved by delta: the shares of the rows as they were (`gone`) taken
-- away, those of the rows as they are (`came`) added; rows whose read columns did not change
-- count on neither side, and an update that moves only money or status takes and adds the same
-- links, so only the money moves. Each branch reads only the transition tables its event has.
create or replace function projects_keep_technology_links() returns trigger
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
declare
    before_rows project_funding_row[] := '{}';
    after_rows project_funding_row[] := '{}';
    gone project_technology_share[];
    came project_technology_share[];
    links_moved boolean;
    overdrawn int;
begin
    if tg_op <> 'INSERT' then
        select coalesce(array_agg(row(code, fiscal_year, technology_codes, committed_krw, disbursed_krw,
            status)::project_funding_row), '{}')
        into before_rows from old_rows;
    end if;
    if tg_op <> 'DELETE' then
        select coalesce(array_agg(row(code, fiscal_year, technology_codes, committed_krw, disbursed_krw,
            status)::project_funding_row), '{}')
        into after_rows from new_rows;
        if tg_op = 'UPDATE' and cardinality(after_rows) = 0 then
            return null;  -- the update half of an upsert that only inserted
        end if;
    end if;
    gone := project_technology_shares(array(select w from unnest(before_rows) w except select n from unnest(after_rows) n));
    came := project_technology_shares(array(select n from unnest(after_rows) n except select w from unnest(before_rows) w));
    if cardinality(gone) = 0 and cardinality(came) = 0 then
        return null;
    end if;
    -- The links, if they moved (a payment or a status moves only money).
    links_moved := array(select (technology_code, fiscal_year, project_code) from unnest(gone))
        is distinct from array(select (technology_code, fiscal_year, project_code) from unnest(came));
    if links_moved and cardinality(gone) > 0 then
        delete from project_technologies l
        using (select technology_code, fiscal_year, project_code from unnest(gone)
               except select technology_code, fiscal_year, project_code from unnest(came)) g
        where l.technology_code = g.technology_code and l.fiscal_year = g.fiscal_year
            and l.project_code = g.project_code;
    end if;
    if links_moved and cardinality(came) > 0 then
        insert into project_technologies (technology_code, fiscal_year, project_code)
        select technology_code, fiscal_year, project_code from unnest(came)
        except select technology_code, fiscal_year, project_code from unnest(gone);
    end if;
    -- The sums, per pair by what moved (a pair where nothing moved is not written).
    insert into technology_year_funding as f
        (technology_code, fiscal_year, committed_krw, disbursed_krw, project_count, project_links)
    select s.technology_code, s.fiscal_year, sum(s.sign * s.committed_krw)::bigint,
        sum(s.sign * s.disbursed_krw)::bigint, sum(s.sign * s.counted)::int, sum(s.sign)::int
    from (select g.*, -1 as sign from unnest(gone) g union all select c.*, 1 from unnest(came) c) s
    group by s.technology_code, s.fiscal_year
    having sum(s.sign * s.committed_krw) <> 0 or sum(s.sign * s.disbursed_krw) <> 0
        or sum(s.sign * s.counted) <> 0 or sum(s.sign) <> 0
    order by s.technology_code, s.fiscal_year
    on conflict (technology_code, fiscal_year) do update
        set committed_krw = f.committed_krw + excluded.committed_krw,
            disbursed_krw = f.disbursed_krw + excluded.disbursed_krw,
            project_count = f.project_count + excluded.project_count,
            project_links = f.project_links + excluded.project_links;
    -- A pair left with no project loses its row; one left with fewer than none means the sums
    -- were out of step with the links before this statement, which is refused, not hidden.
    if links_moved and cardinality(gone) > 0 then
        with removed as (
            delete from technology_year_funding f
            using (select distinct technology_code, fiscal_year from unnest(gone)) g
            where f.technology_code = g.technology_code and f.fiscal_year = g.fiscal_year
                and f.project_links <= 0
            returning f.project_links
        )
        select count(*) into overdrawn from removed where project_links < 0;
        if overdrawn > 0 then
            raise exception 'technology_year_funding lost more projects than it held in % (technology, year) pairs', overdrawn;
        end if;
    end if;
    return null;
end $$;

drop function refresh_technology_year_funding(text[], int[], boolean);
