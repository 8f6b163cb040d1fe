#!/bin/sh
# The primary's first start (docker-entrypoint-initdb.d): a role for the standby to replicate with,
# and synchronous replication to it, so a write is acknowledged only once the standby has it too.
set -e
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" \
  -c "CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '$POSTGRES_REPLICATION_PASSWORD'" \
  -c "GRANT EXECUTE ON FUNCTION pg_control_system(), pg_control_checkpoint() TO \"$POSTGRES_USER\""
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
cat >> "$PGDATA/postgresql.conf" <<CONF
wal_level = replica
max_wal_senders = 5
synchronous_standby_names = 'standby'
synchronous_commit = on
CONF
