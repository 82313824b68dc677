-- Vigie: the ClickHouse server accounts of minimal rights, one per role.
-- See deploy/README.md and docs/security.md. The fourth, for engineers'
-- ad-hoc SQL, is deploy/clickhouse/sandbox.sql.
--
--   vigie_writer   vigie aggregate (and vigie migrate): creates and migrates
--                  the database (warehouse.migrate_on_start), writes events,
--                  windows and offsets. The only account with DDL.
--   vigie_reader   vigie dashboards (web UI, JSON API, reports): reads only.
--   vigie_alerts   the one live-detection replica (deploy/kubernetes/alerts.yaml):
--                  reads, and writes the incidents' state and its deliveries.
--
-- Database `vigie` (warehouse.database) and cluster `vigie`
-- (warehouse.clickhouse.cluster): change both here if yours differ.
--
-- Apply it as an administrator, with each password's SHA-256 in the environment:
--   read -rs P; export VIGIE_WRITER_PASSWORD_SHA256=$(printf %s "$P" | sha256sum | cut -d' ' -f1)
--   read -rs P; export VIGIE_READER_PASSWORD_SHA256=$(printf %s "$P" | sha256sum | cut -d' ' -f1)
--   read -rs P; export VIGIE_ALERTS_PASSWORD_SHA256=$(printf %s "$P" | sha256sum | cut -d' ' -f1)
--   envsubst < deploy/clickhouse/users.sql | clickhouse-client --multiquery
-- With mutual TLS instead of passwords (warehouse.clickhouse.tls_cert_file),
-- replace an IDENTIFIED WITH sha256_hash BY '…' by
--   IDENTIFIED WITH ssl_certificate CN '<the client certificate's common name>'
-- On a cluster, add ON CLUSTER vigie after each account's name (or keep the
-- users in Keeper with replicated user_directories).
--
-- The server should make system tables need a grant (sandbox.sql says how):
-- the grants on system.tables and system.columns below are what the
-- migrator reads.

CREATE USER OR REPLACE vigie_writer
    IDENTIFIED WITH sha256_hash BY '${VIGIE_WRITER_PASSWORD_SHA256}'
    DEFAULT DATABASE vigie;

-- CREATE DATABASE on vigie.* creates that database only.
GRANT CREATE DATABASE, CREATE TABLE, CREATE VIEW, DROP VIEW, ALTER TABLE, INSERT, SELECT ON vigie.* TO vigie_writer;
-- DDL ON CLUSTER vigie (Replicated tables through Keeper).
GRANT CLUSTER ON *.* TO vigie_writer;
GRANT SELECT ON system.tables TO vigie_writer;
GRANT SELECT ON system.columns TO vigie_writer;

CREATE USER OR REPLACE vigie_reader
    IDENTIFIED WITH sha256_hash BY '${VIGIE_READER_PASSWORD_SHA256}'
    DEFAULT DATABASE vigie;

-- SELECT is its only grant: no write, no DDL. (No readonly profile: Vigie
-- sends readonly=1 and limits with engineers' queries itself, which a
-- readonly user could not.)
GRANT SELECT ON vigie.* TO vigie_reader;

CREATE USER OR REPLACE vigie_alerts
    IDENTIFIED WITH sha256_hash BY '${VIGIE_ALERTS_PASSWORD_SHA256}'
    DEFAULT DATABASE vigie;

GRANT SELECT ON vigie.* TO vigie_alerts;
GRANT INSERT ON vigie.incident_state TO vigie_alerts;
GRANT INSERT ON vigie.alert_deliveries TO vigie_alerts;
