-- A firm may hold two confirmations of one technology issued on one day with different terms
-- (the firms service records both): keyed without the term, the second was dropped, and a firm
-- holding the technology under it was missing from Technology.firms(validOn). The key now
-- includes the term, and the rows dropped before are restored from the firms' own lists.
alter table confirmations drop constraint confirmations_pkey;
alter table confirmations add primary key (brn, technology_code, issued_on, valid_until);

insert into confirmations (brn, technology_code, issued_on, valid_until)
select f.brn, c->>'technology_code', (c->>'issued_on')::date, (c->>'valid_until')::date
from firms f, jsonb_array_elements(f.confirmations) c
on conflict do nothing;
