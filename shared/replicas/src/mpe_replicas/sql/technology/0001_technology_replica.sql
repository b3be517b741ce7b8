-- A service's local copy of the catalog's technology list, fed by mpe.catalog.technology.
create table technology_replica (
    code text primary key,
    status text not null,
    listed_on date not null,
    retired_on date,
    version int not null,
    updated_at timestamptz not null default now()
);
