#!/usr/bin/env bash
# Makes sure the local PostgreSQL answers on 127.0.0.1:5432: starts this machine's
# cluster when it is down (Debian's pg_ctlcluster), and says what to do when there
# is none. Used by `make run`, `make test` and CI. With TEST_DATABASE_URL set, or on
# a machine without a local cluster, it leaves things alone (the tests then use
# TEST_DATABASE_URL or a container).
set -euo pipefail

if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null || [[ ! -d /etc/postgresql ]]; then
  echo "pg-up: no PostgreSQL answers on 127.0.0.1:5432 and no local cluster to start (install postgresql, or set DATABASE_URL / TEST_DATABASE_URL)" >&2
  exit 0
fi
version=$(ls /etc/postgresql | sort -V | tail -n1)
echo "pg-up: starting PostgreSQL $version" >&2
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 30); do
  pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
  sleep 1
done
echo "pg-up: PostgreSQL $version did not come up on 127.0.0.1:5432 within 30 s" >&2
exit 1
