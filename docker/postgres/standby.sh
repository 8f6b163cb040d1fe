#!/bin/sh
# The standby: at its first start a base backup of the primary (-R: it then follows it), named
# `standby` for the primary's synchronous_standby_names; then PostgreSQL in hot standby.
set -e
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h postgres -U replicator -D "$PGDATA" -R -X stream -c fast; do sleep 2; done
  cat >> "$PGDATA/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=postgres user=replicator password=$PGPASSWORD application_name=standby'
synchronous_standby_names = ''
CONF
fi
chmod 700 "$PGDATA"
exec postgres
