-- A firm's confirmations (핵심전략기술 확인서) as rows, so that "firms holding a technology on a
-- day" is an indexed lookup. The firm's upsert replaces its rows (the firm's version guards both).
create table confirmations (
    brn text not null,
    technology_code text not null,
    issued_on date not null,
    -- The first day the confirmation no longer holds.
    valid_until date not null,
    primary key (brn, technology_code, issued_on)
);
-- Technology.confirmations and Technology.firms(validOn).
create index confirmations_technology on confirmations (technology_code, issued_on, brn);

insert into confirmations (brn, technology_code, issued_on, valid_until)
select f.brn, c->>'technology_code', (c->>'issued_on')::date, (c->>'valid_until')::date
from firms f, jsonb_array_elements(f.confirmations) c
on conflict do nothing;
