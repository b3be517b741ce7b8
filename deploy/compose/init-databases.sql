-- One database per service (each service is the only owner of its data), created on the
-- first start of the compose stack's Postgres volume; the services' migrate jobs create the
-- tables. The official postgres image runs this once, from /docker-entrypoint-initdb.d.
-- Least privilege, as on Kubernetes: the owner role <service> runs the migrations, which grant
-- the runtime role <service>_runtime DML only; the running services log in as the runtime role.
\getenv owner_password MPE_DB_OWNER_PASSWORD
\getenv runtime_password MPE_DB_RUNTIME_PASSWORD
CREATE ROLE catalog LOGIN PASSWORD :'owner_password';
CREATE ROLE catalog_runtime LOGIN PASSWORD :'runtime_password';
CREATE DATABASE catalog OWNER catalog;
CREATE ROLE gateway LOGIN PASSWORD :'owner_password';
CREATE ROLE gateway_runtime LOGIN PASSWORD :'runtime_password';
CREATE DATABASE gateway OWNER gateway;
CREATE ROLE firms LOGIN PASSWORD :'owner_password';
CREATE ROLE firms_runtime LOGIN PASSWORD :'runtime_password';
CREATE DATABASE firms OWNER firms;
CREATE ROLE budget LOGIN PASSWORD :'owner_password';
CREATE ROLE budget_runtime LOGIN PASSWORD :'runtime_password';
CREATE DATABASE budget OWNER budget;
