-- What each AMEND of a published revision replaced: {technology code: {field: value before}}.
-- Revisions published before this column existed keep an empty map: their old values are gone.
alter table revisions add column amended_before jsonb not null default '{}';
