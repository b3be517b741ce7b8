-- A firm has at most one open application (applied or under review) per kind. The use case
-- checks under the firm's row lock too; the index holds whatever path writes the table.
create unique index designations_one_open on designations (brn, kind)
    where status in ('applied', 'under_review');
