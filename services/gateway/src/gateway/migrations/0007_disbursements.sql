-- Money over time: each payment as a line (mpe.budget.disbursement), a project's status moves,
-- and the chain of yearly records of one multi-year project.
create table disbursements (
    id uuid primary key,
    project_code text not null,
    paid_on date not null,
    amount_krw bigint not null,
    recorded_at timestamptz not null,
    version int not null,
    updated_at timestamptz not null default now()
);
-- Project.disbursements: a project's lines in paidOn order, paged by (paid_on, id).
create index disbursements_project on disbursements (project_code, paid_on, id);

-- Events written before the project carried its history give an empty list until the next one.
alter table projects add column history jsonb not null default '[]'::jsonb;
-- Project.continuedBy: the one record whose continues is this code.
create index projects_continues on projects (continues) where continues is not null;
