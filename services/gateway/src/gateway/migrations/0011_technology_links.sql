-- The read model shaped for a technology's page (issue 13, section 4): a technology's projects
-- and designations through link tables, and its funding per fiscal year kept as sums, so that a
-- page of technologies reads a few index entries each, however many projects there are.
--
-- Statement-level triggers with transition tables keep them in the transaction of the change,
-- whatever writes the rows (one upsert per event, or one statement for a whole batch). The sums
-- are recomputed for the (technology, fiscal year) pairs a statement touches, from the links and
-- the projects as they stand after it: never added to or taken from, so they cannot drift.
-- The functions name their tables without a schema: they act on the schema of the session, as
-- every statement of the gateway does (a rebuild migrates and fills its own schema).
-- Each statement in them reaches a few rows by key, so they take index lookups in nested loops
-- only (the `set` of each function): PL/pgSQL keeps a statement's plan for the session, and a plan
-- made while a table was small (a rebuild, a replay in one transaction, before any ANALYZE)
-- would otherwise scan the whole table on every later call, a cost growing with the data.

-- One row per distinct technology code a project carries (a code named twice counts once).
-- Technology.projects: a technology's projects newest fiscal year first, then by code.
create table project_technologies (
    technology_code text not null,
    fiscal_year int not null,
    project_code text not null
);
create unique index project_technologies_page
    on project_technologies (technology_code, fiscal_year desc, project_code);

-- One row per distinct technology code a designation carries, with what the relation orders and
-- filters on. Technology.designations: in applied order, all of them or of one status.
create table designation_technologies (
    technology_code text not null,
    applied_on date not null,
    designation_id uuid not null,
    status text not null
);
create unique index designation_technologies_page
    on designation_technologies (technology_code, applied_on, designation_id) include (status);
create index designation_technologies_status
    on designation_technologies (technology_code, status, applied_on, designation_id);

-- Technology.funding and fundingByYear: per technology and fiscal year that has a project, the
-- sums over its projects (PROJECT_SUMS: money summed, projects counted as store.budget.counted).
create table technology_year_funding (
    technology_code text not null,
    fiscal_year int not null,
    committed_krw bigint not null,
    disbursed_krw bigint not null,
    project_count int not null,
    primary key (technology_code, fiscal_year)
);

-- The sums of the pairs (codes[i], years[i]) recomputed from the links and the projects; with
-- `pruned` (links were deleted), a pair left with no project loses its row.
create function refresh_technology_year_funding(codes text[], years int[], pruned boolean) returns void
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
begin
    if cardinality(codes) = 0 then
        return;
    end if;
    -- First lock the pairs, then read the projects: a transaction changing projects of the same
    -- pairs waits here until this one commits, and its statements below, each with a new
    -- snapshot, then see what this one wrote. Reading first would let two concurrent writers each
    -- leave sums without the other's projects. Advisory locks (in memory, released at commit:
    -- cheaper than locking the rows; one per pair, so a few thousand at most in a transaction),
    -- keyed by this table and the pair, taken in key order.
    perform pg_advisory_xact_lock(hashtext('technology_year_funding'), hashtext(k.technology_code || '/' || k.fiscal_year))
    from (select distinct * from unnest(codes, years) order by 1, 2) as k(technology_code, fiscal_year);
    if pruned then
        delete from technology_year_funding f
        using unnest(codes, years) as k(technology_code, fiscal_year)
        where f.technology_code = k.technology_code and f.fiscal_year = k.fiscal_year
            and not exists (select 1 from project_technologies l
                            where l.technology_code = k.technology_code and l.fiscal_year = k.fiscal_year);
    end if;
    insert into technology_year_funding as f
        (technology_code, fiscal_year, committed_krw, disbursed_krw, project_count)
    select l.technology_code, l.fiscal_year, coalesce(sum(p.committed_krw), 0)::bigint,
        coalesce(sum(p.disbursed_krw), 0)::bigint,
        count(p.code) filter (where p.committed_krw > 0
                              or p.status in ('selected', 'agreement_signed', 'active', 'completed'))
    from (select distinct * from unnest(codes, years)) as k(technology_code, fiscal_year)
    join project_technologies l on l.technology_code = k.technology_code and l.fiscal_year = k.fiscal_year
    join projects p on p.code = l.project_code
    group by l.technology_code, l.fiscal_year
    on conflict (technology_code, fiscal_year) do update
        set committed_krw = excluded.committed_krw, disbursed_krw = excluded.disbursed_krw,
            project_count = excluded.project_count
        where (f.committed_krw, f.disbursed_krw, f.project_count)
            is distinct from (excluded.committed_krw, excluded.disbursed_krw, excluded.project_count);
end $$;

-- After each statement on projects. `gone` are the links of the rows as they were, `came` as they
-- are, both of the rows that changed (an update that changes none of the columns read here moves
-- nothing); the links in one and not the other move, and the pairs of both are refreshed. A
-- trigger with transition tables fires on one event only: three triggers share this body, and
-- each branch reads only the transition tables its event has.
create function projects_keep_technology_links() returns trigger
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
declare
    gone_t text[] := '{}';
    gone_y int[] := '{}';
    gone_p text[] := '{}';
    came_t text[] := '{}';
    came_y int[] := '{}';
    came_p text[] := '{}';
begin
    if tg_op = 'INSERT' then
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.fiscal_year), '{}'),
            coalesce(array_agg(r.code), '{}')
        into came_t, came_y, came_p
        from new_rows r cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    elsif tg_op = 'DELETE' then
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.fiscal_year), '{}'),
            coalesce(array_agg(r.code), '{}')
        into gone_t, gone_y, gone_p
        from old_rows r cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    else
        perform from new_rows limit 1;
        if not found then
            return null;  -- the update half of an upsert that only inserted
        end if;
        -- In one order on both sides, so that equal links compare equal.
        select coalesce(array_agg(c.code order by r.code, c.code), '{}'),
            coalesce(array_agg(r.fiscal_year order by r.code, c.code), '{}'),
            coalesce(array_agg(r.code order by r.code, c.code), '{}')
        into gone_t, gone_y, gone_p
        from (select code, fiscal_year, technology_codes, committed_krw, disbursed_krw, status from old_rows
              except
              select code, fiscal_year, technology_codes, committed_krw, disbursed_krw, status from new_rows) r
        cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
        select coalesce(array_agg(c.code order by r.code, c.code), '{}'),
            coalesce(array_agg(r.fiscal_year order by r.code, c.code), '{}'),
            coalesce(array_agg(r.code order by r.code, c.code), '{}')
        into came_t, came_y, came_p
        from (select code, fiscal_year, technology_codes, committed_krw, disbursed_krw, status from new_rows
              except
              select code, fiscal_year, technology_codes, committed_krw, disbursed_krw, status from old_rows) r
        cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    end if;
    if cardinality(gone_t) = 0 and cardinality(came_t) = 0 then
        return null;
    end if;
    if gone_t = came_t and gone_y = came_y and gone_p = came_p then
        -- The same links: money or status moved (the usual event).
        perform refresh_technology_year_funding(came_t, came_y, false);
        return null;
    end if;
    if cardinality(gone_t) > 0 then
        delete from project_technologies l
        using (select * from unnest(gone_t, gone_y, gone_p)
               except select * from unnest(came_t, came_y, came_p)) g(t, y, p)
        where l.technology_code = g.t and l.fiscal_year = g.y and l.project_code = g.p;
    end if;
    if cardinality(came_t) > 0 then
        insert into project_technologies (technology_code, fiscal_year, project_code)
        select * from unnest(came_t, came_y, came_p)
        except select * from unnest(gone_t, gone_y, gone_p);
    end if;
    perform refresh_technology_year_funding(gone_t || came_t, gone_y || came_y, cardinality(gone_t) > 0);
    return null;
end $$;

create trigger projects_technology_links_insert after insert on projects
    referencing new table as new_rows
    for each statement execute function projects_keep_technology_links();
create trigger projects_technology_links_update after update on projects
    referencing old table as old_rows new table as new_rows
    for each statement execute function projects_keep_technology_links();
create trigger projects_technology_links_delete after delete on projects
    referencing old table as old_rows
    for each statement execute function projects_keep_technology_links();

-- After each statement on designations: the same for their links, which carry the applied day and
-- the status the relation orders and filters on (a designation's status moves often); no sums.
create function designations_keep_technology_links() returns trigger
language plpgsql set enable_seqscan = off set enable_hashjoin = off set enable_mergejoin = off as $$
declare
    gone_t text[] := '{}';
    gone_a date[] := '{}';
    gone_i uuid[] := '{}';
    gone_s text[] := '{}';
    came_t text[] := '{}';
    came_a date[] := '{}';
    came_i uuid[] := '{}';
    came_s text[] := '{}';
begin
    if tg_op = 'INSERT' then
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.applied_on), '{}'),
            coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.status), '{}')
        into came_t, came_a, came_i, came_s
        from new_rows r cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    elsif tg_op = 'DELETE' then
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.applied_on), '{}'),
            coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.status), '{}')
        into gone_t, gone_a, gone_i, gone_s
        from old_rows r cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    else
        perform from new_rows limit 1;
        if not found then
            return null;  -- the update half of an upsert that only inserted
        end if;
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.applied_on), '{}'),
            coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.status), '{}')
        into gone_t, gone_a, gone_i, gone_s
        from (select id, technology_codes, applied_on, status from old_rows
              except select id, technology_codes, applied_on, status from new_rows) r
        cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
        select coalesce(array_agg(c.code), '{}'), coalesce(array_agg(r.applied_on), '{}'),
            coalesce(array_agg(r.id), '{}'), coalesce(array_agg(r.status), '{}')
        into came_t, came_a, came_i, came_s
        from (select id, technology_codes, applied_on, status from new_rows
              except select id, technology_codes, applied_on, status from old_rows) r
        cross join lateral (select distinct x from unnest(r.technology_codes) x) c(code)
        where c.code is not null;
    end if;
    if cardinality(gone_t) = 0 and cardinality(came_t) = 0 then
        return null;
    end if;
    if cardinality(gone_t) > 0 then
        delete from designation_technologies l
        using (select * from unnest(gone_t, gone_a, gone_i, gone_s)
               except select * from unnest(came_t, came_a, came_i, came_s)) g(t, a, i, s)
        where l.technology_code = g.t and l.applied_on = g.a and l.designation_id = g.i;
    end if;
    if cardinality(came_t) > 0 then
        insert into designation_technologies (technology_code, applied_on, designation_id, status)
        select * from unnest(came_t, came_a, came_i, came_s)
        except select * from unnest(gone_t, gone_a, gone_i, gone_s);
    end if;
    return null;
end $$;

create trigger designations_technology_links_insert after insert on designations
    referencing new table as new_rows
    for each statement execute function designations_keep_technology_links();
create trigger designations_technology_links_update after update on designations
    referencing old table as old_rows new table as new_rows
    for each statement execute function designations_keep_technology_links();
create trigger designations_technology_links_delete after delete on designations
    referencing old table as old_rows
    for each statement execute function designations_keep_technology_links();

-- A truncated table leaves no links (nor sums) behind.
create function truncate_technology_links() returns trigger
language plpgsql as $$
begin
    if tg_table_name = 'projects' then
        truncate project_technologies, technology_year_funding;
    else
        truncate designation_technologies;
    end if;
    return null;
end $$;
create trigger projects_technology_links_truncate after truncate on projects
    for each statement execute function truncate_technology_links();
create trigger designations_technology_links_truncate after truncate on designations
    for each statement execute function truncate_technology_links();

-- The rows projected before this migration.
insert into project_technologies (technology_code, fiscal_year, project_code)
select distinct c.code, p.fiscal_year, p.code
from projects p cross join lateral unnest(p.technology_codes) c(code) where c.code is not null;
insert into designation_technologies (technology_code, applied_on, designation_id, status)
select distinct c.code, d.applied_on, d.id, d.status
from designations d cross join lateral unnest(d.technology_codes) c(code) where c.code is not null;
select refresh_technology_year_funding(coalesce(array_agg(technology_code), '{}'),
    coalesce(array_agg(fiscal_year), '{}'), false)
from (select distinct technology_code, fiscal_year from project_technologies) k;
