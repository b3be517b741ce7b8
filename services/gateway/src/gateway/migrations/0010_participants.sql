-- Consortia and the rollups' attribution: each project's participants as a link table (one row
-- per member, in the event's order), and the lead firm's size class and region as they stood on
-- the selection day, which the project event carries (a later change of the firm moves nothing).
create table project_participants (
    project_code text not null,
    position int not null,
    role text not null,
    kind text not null,
    -- A Korean firm has a BRN and no name; anyone else a name and no BRN.
    brn text,
    name text,
    -- ISO 3166-1 alpha-2; KR for a Korean member, any other country is a foreign partner.
    country text not null,
    government_krw bigint not null,
    private_cash_krw bigint not null,
    private_in_kind_krw bigint not null,
    primary key (project_code, position)
);
-- projects(filter: {partnerCountry}) and spending's PARTNER_COUNTRY: the foreign partners only.
create index project_participants_foreign on project_participants (country, project_code)
    where country <> 'KR';
-- Firm.funding: a firm's rows as lead and as participant.
create index project_participants_brn on project_participants (brn) where brn is not null;

alter table projects add column lead_firm_size text, add column lead_firm_region text;

-- Rows projected before this migration: their events named no consortium, which the budget
-- service reads as the lead firm alone with all of the money (the projection does the same for
-- such events). Their size and region arrive with the project's next event, or a rebuild.
insert into project_participants (project_code, position, role, kind, brn, name, country,
    government_krw, private_cash_krw, private_in_kind_krw)
select code, 1, 'lead', 'firm', lead_firm_brn, null, 'KR', government_krw, private_cash_krw,
    private_in_kind_krw
from projects where lead_firm_brn is not null;
