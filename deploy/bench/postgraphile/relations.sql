-- The read model keeps no foreign keys (the projector writes each table from its own events, in
-- any order). PostGraphile finds relations from foreign keys, so these smart tags declare the
-- ones query 1 follows. Comments only: no row, index or constraint changes.
comment on table technologies is E'@foreignKey (industry_code) references industries (code)';
comment on table technology_year_funding is E'@foreignKey (technology_code) references technologies (code)';
comment on table designation_technologies is
  E'@foreignKey (technology_code) references technologies (code)\n@foreignKey (designation_id) references designations (id)';
comment on table designations is E'@foreignKey (brn) references firms (brn)';
