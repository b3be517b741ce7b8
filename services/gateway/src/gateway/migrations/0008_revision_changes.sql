-- A revision's changes (add, retire, amend with the values it replaced), served by
-- Query.revisions and Query.revision. Rows projected before this column existed hold an empty
-- list until their revision's event is projected again (a replay of mpe.catalog.revision).
alter table revisions add column changes jsonb not null default '[]'::jsonb;
-- Query.revisions: published revisions in (effective_on, id) order.
create index revisions_published on revisions (effective_on, id) where status = 'published';
