-- The projects' money per fiscal year and primary technology, kept for the rollups by year and
-- industry: `spending` grouped and filtered by nothing else, and `programOverview` with its
-- `byIndustry`.
--
-- Those read every project of the years asked for and sum them on each request: a cost that grows
-- with the data (at 100x, `spending(groupBy: [INDUSTRY, FISCAL_YEAR])` summed 20,000 projects per
-- request and answered 25 to 33 requests/s cold; docs/measurements.md). A project counts under its
-- first technology's industry, so per (fiscal year, primary technology) the sums add up to every
-- rollup by year and industry, whichever industry a technology belongs to at the time of reading:
-- at most one row per technology and year, however many projects there are.
--
-- Kept as 0012 keeps `technology_year_funding`: statement-level triggers with transition tables,
-- in the writing transaction, move the sums by delta (the rows as they were take their share away,
-- the rows as they are add theirs), one upsert per statement in key order. `project_rows` counts
-- every project of the pair, counted or not, so that a pair left with none loses its row.

create table year_technology_sums (
    fiscal_year int not null,
    -- The project's primary technology (`projects.primary_technology`), '' for a project with none.
    technology_code text not null,
    -- Over every project, as `store.budget.ROLLUP` sums them.
    committed_krw bigint not null,
    disbursed_krw bigint not null,
    -- Over the counted projects only (`store.budget.counted`), as `spending` sums its split.
    government_krw bigint not null,
    private_cash_krw bigint not null,
    private_in_kind_krw bigint not null,
    project_count int not null,
    new_count int not null,
    continuing_count int not null,
    project_rows int not null,
    primary key (fiscal_year, technology_code)
);

-- What one project row brings to its pair, times `sign` (1: as it is now; -1: as it was). The
-- split and the counts only if the project counts (as store.budget.counted).
create type project_year_share as (
    fiscal_year int,
    technology_code text,
    committed_krw bigint,
    disbursed_krw bigint,
    government_krw bigint,
    private_cash_krw bigint,
    private_in_kind_krw bigint,
    project_count int,
    new_count int,
    continuing_count int,
    project_rows int
);

-- One expression each, no FROM: Postgres inlines them into the statements that call them, where a
-- SQL function it cannot inline would be set up again for every call (twice the trigger's cost).
create function project_counted(p projects) returns int
language sql immutable as $$
    select (p.committed_krw > 0 or p.status in ('selected', 'agreement_signed', 'active', 'completed'))::int
$$;

create function project_year_share(p projects, sign int) returns project_year_share
language sql immutable as $$
    select row(p.fiscal_year, coalesce(p.primary_technology, ''), sign * p.committed_krw,
        sign * p.disbursed_krw, sign * project_counted(p) * p.government_krw,
        sign * project_counted(p) * p.private_cash_krw, sign * project_counted(p) * p.private_in_kind_krw,
        sign * project_counted(p), sign * project_counted(p) * (p.kind = 'new')::int,
        sign * project_counted(p) * (p.kind = 'continuing')::int, sign)::project_year_share
$$;

-- One body for the three triggers: each branch reads only the transition tables its event has.
create function projects_keep_year_sums() returns trigger
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
declare
    shares project_year_share[] := '{}';
    overdrawn int;
begin
    if tg_op <> 'INSERT' then
        select coalesce(array_agg(project_year_share(o, -1)), '{}') into shares from old_rows o;
    end if;
    if tg_op <> 'DELETE' then
        select shares || coalesce(array_agg(project_year_share(n, 1)), '{}') into shares from new_rows n;
    end if;
    if cardinality(shares) = 0 then
        return null;  -- the update half of an upsert that only inserted
    end if;
    -- Per pair what moved; a pair where nothing moved (an update of other columns) is not written.
    insert into year_technology_sums as y
        (fiscal_year, technology_code, committed_krw, disbursed_krw, government_krw, private_cash_krw,
         private_in_kind_krw, project_count, new_count, continuing_count, project_rows)
    select s.fiscal_year, s.technology_code, sum(s.committed_krw), sum(s.disbursed_krw),
        sum(s.government_krw), sum(s.private_cash_krw), sum(s.private_in_kind_krw), sum(s.project_count),
        sum(s.new_count), sum(s.continuing_count), sum(s.project_rows)
    from unnest(shares) s
    group by s.fiscal_year, s.technology_code
    having sum(s.committed_krw) <> 0 or sum(s.disbursed_krw) <> 0 or sum(s.government_krw) <> 0
        or sum(s.private_cash_krw) <> 0 or sum(s.private_in_kind_krw) <> 0 or sum(s.project_count) <> 0
        or sum(s.new_count) <> 0 or sum(s.continuing_count) <> 0 or sum(s.project_rows) <> 0
    order by s.fiscal_year, s.technology_code
    on conflict (fiscal_year, technology_code) do update
        set committed_krw = y.committed_krw + excluded.committed_krw,
            disbursed_krw = y.disbursed_krw + excluded.disbursed_krw,
            government_krw = y.government_krw + excluded.government_krw,
            private_cash_krw = y.private_cash_krw + excluded.private_cash_krw,
            private_in_kind_krw = y.private_in_kind_krw + excluded.private_in_kind_krw,
            project_count = y.project_count + excluded.project_count,
            new_count = y.new_count + excluded.new_count,
            continuing_count = y.continuing_count + excluded.continuing_count,
            project_rows = y.project_rows + excluded.project_rows;
    -- A pair left with no project loses its row; one left with fewer than none means the sums
    -- were out of step with the projects before this statement, which is refused, not hidden.
    if tg_op <> 'INSERT' then
        with removed as (
            delete from year_technology_sums y
            using (select distinct s.fiscal_year, s.technology_code from unnest(shares) s where s.project_rows < 0) g
            where y.fiscal_year = g.fiscal_year and y.technology_code = g.technology_code
                and y.project_rows <= 0
            returning y.project_rows
        )
        select count(*) into overdrawn from removed where project_rows < 0;
        if overdrawn > 0 then
            raise exception 'year_technology_sums lost more projects than it held in % (fiscal year, technology) pairs', overdrawn;
        end if;
    end if;
    return null;
end $$;

create trigger projects_year_sums_insert after insert on projects
    referencing new table as new_rows
    for each statement execute function projects_keep_year_sums();
create trigger projects_year_sums_update after update on projects
    referencing old table as old_rows new table as new_rows
    for each statement execute function projects_keep_year_sums();
create trigger projects_year_sums_delete after delete on projects
    referencing old table as old_rows
    for each statement execute function projects_keep_year_sums();

-- A truncated projects table leaves no sums behind.
create function truncate_year_technology_sums() returns trigger
language plpgsql as $$
begin
    truncate year_technology_sums;
    return null;
end $$;
create trigger projects_year_sums_truncate after truncate on projects
    for each statement execute function truncate_year_technology_sums();

-- The rows projected before this migration.
insert into year_technology_sums
    (fiscal_year, technology_code, committed_krw, disbursed_krw, government_krw, private_cash_krw,
     private_in_kind_krw, project_count, new_count, continuing_count, project_rows)
select s.fiscal_year, s.technology_code, sum(s.committed_krw), sum(s.disbursed_krw), sum(s.government_krw),
    sum(s.private_cash_krw), sum(s.private_in_kind_krw), sum(s.project_count), sum(s.new_count),
    sum(s.continuing_count), sum(s.project_rows)
from projects p cross join lateral (select (project_year_share(p, 1)).*) s
group by s.fiscal_year, s.technology_code;
