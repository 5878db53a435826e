#!/bin/sh
# Writes the auth file from the app role's password (never baked into the image), then runs PgBouncer.
set -eu
: "${ROUNDPOOL_APP_PASSWORD:?set ROUNDPOOL_APP_PASSWORD}"
umask 077
mkdir -p /tmp/pgbouncer
escaped=$(printf '%s' "$ROUNDPOOL_APP_PASSWORD" | sed 's/"/""/g')
printf '"roundpool_app" "%s"\n' "$escaped" > /tmp/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
