-- One database per service (each service is the only owner of its data), created on the
-- first start of the compose stack's Postgres volume; the services' migrate jobs create the
-- tables. The official postgres image runs this once, from /docker-entrypoint-initdb.d.
CREATE DATABASE catalog;
CREATE DATABASE gateway;
CREATE DATABASE firms;
CREATE DATABASE budget;
