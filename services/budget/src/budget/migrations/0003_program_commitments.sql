-- A program's commitments kept on its row (issue 13, the soak's finding).
--
-- Selecting a project commits its government money within its program's budget. The check ran
-- under the program's row lock and summed every project of the program, three times per move,
-- so a move's cost, and every other move's wait for that lock, grew with the program: in a
-- 20-minute soak one program of about 8,000 projects saw its lock wait go from 84 to 163 ms.
-- The sum now sits on the program's row, moved by the projects' own changes: a move reads one
-- program row and one project row whatever the program's size.
--
-- Only the commitments: what was paid changes with every payment, and keeping it here would make
-- each payment wait for its program's lock. A program's paid sum is still added up when read.

alter table programs add column committed_krw bigint not null default 0;

update programs p set committed_krw = s.committed
from (select program_code, sum(committed_krw) as committed from projects group by program_code) s
where s.program_code = p.code;

-- What the service checks before a move, the database holds after it.
alter table programs add constraint programs_commitments_within_budget
    check (committed_krw >= 0 and committed_krw <= budget_krw);

-- A row trigger, fired only when a project's commitment or program changes: a payment, the most
-- common write, does not fire it and so takes no lock on its program. The WHEN clauses are what
-- keep the service free of deadlocks: a payment's update sets `committed_krw` to the value it
-- had (so `update of committed_krw` matches it) and locks only its project, while a move locks
-- its program first, then its project. Any code that changes a commitment must likewise lock
-- the program's row first. The rows of one statement move their programs one by one, in the
-- order the statement meets them, and the budget is checked at each: the service changes one
-- project per statement.
create function projects_move_program_commitments() returns trigger
language plpgsql as $$
begin
    if tg_op = 'UPDATE' and old.program_code = new.program_code then
        update programs set committed_krw = committed_krw + new.committed_krw - old.committed_krw
        where code = new.program_code;
        return null;
    end if;
    if tg_op <> 'INSERT' then
        update programs set committed_krw = committed_krw - old.committed_krw where code = old.program_code;
    end if;
    if tg_op <> 'DELETE' then
        update programs set committed_krw = committed_krw + new.committed_krw where code = new.program_code;
    end if;
    return null;
end
$$;

create trigger projects_commitments_inserted after insert on projects
    for each row when (new.committed_krw <> 0)
    execute function projects_move_program_commitments();

create trigger projects_commitments_updated after update of committed_krw, program_code on projects
    for each row when (
        old.committed_krw is distinct from new.committed_krw or old.program_code is distinct from new.program_code
    )
    execute function projects_move_program_commitments();

create trigger projects_commitments_deleted after delete on projects
    for each row when (old.committed_krw <> 0)
    execute function projects_move_program_commitments();
