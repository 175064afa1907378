#!/usr/bin/env bash
# Proves that each schema guard (scripts/schema.sh check) fails when broken on
# purpose. The body of `make test-guards`; CI runs it after `make check`.
#
# Each case copies the tree (tracked and untracked, not ignored, files) into a
# scratch directory, breaks one thing there, runs `scripts/schema.sh check` in the
# copy and expects it to fail on exactly the named guards, with the named message.
# Two control cases must pass: the unchanged tree, and a migration and query
# written the right way, so a guard that fails on everything proves nothing.
# The real tree is never touched; scratch directories are removed and the scratch
# databases are dropped by cmd/scratchdb, also when a case fails.
#
# Exits non-zero when any case does not end as expected.
#
# Env: SCHEMA_DATABASE_URL (see scripts/schema.sh); KEEP=1 keeps the scratch copies.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

log() { printf 'test-guards: %s\n' "$*" >&2; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

WORK=$(mktemp -d)
cleanup() {
  if [[ ${KEEP:-0} == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export SCHEMA_DATABASE_URL="${SCHEMA_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
scratch_dbs() {
  psql "$SCHEMA_DATABASE_URL" -X -qAt -c "SELECT datname FROM pg_database WHERE datname LIKE 'callsvc\_scratch\_%' ORDER BY 1"
}
DBS_BEFORE=$(scratch_dbs)

# copy_tree DIR: the working tree as git sees it (committed or not), without ignored files.
copy_tree() {
  mkdir -p "$1"
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$1"
}

# regenerate: refresh sql/schema.sql and docs/schema/ in the copy, as an author
# who ran `make schema-dump schema-docs` would, so only the guard under test can fail.
regenerate() {
  scripts/schema.sh dump 2>/dev/null
  scripts/schema.sh docs 2>/dev/null
}

# Breakages, each run inside a fresh copy of the tree. ---------------------------

unchanged() { :; }

edit_dump() {
  sed -i 's/A company being sold to\./A company being sold to (edited by hand)./' sql/schema.sql
  grep -q 'edited by hand' sql/schema.sql
}

uncommented_column() {
  cat >sql/schema/20261201000001_prospect_website.sql <<'EOF'
-- migrate:up
ALTER TABLE prospect ADD COLUMN website text;

-- migrate:down
ALTER TABLE prospect DROP COLUMN website;
EOF
  regenerate
}

index_without_concurrently() {
  cat >sql/schema/20261201000001_call_session_ended_at_idx.sql <<'EOF'
-- migrate:up
CREATE INDEX call_session_ended_at_idx ON call_session (ended_at);

-- migrate:down
DROP INDEX call_session_ended_at_idx;
EOF
  regenerate
}

concurrently_with_another_statement() {
  cat >sql/schema/20261201000001_call_session_ended_at_idx.sql <<'EOF'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS call_session_ended_at_idx ON call_session (ended_at);
COMMENT ON INDEX call_session_ended_at_idx IS 'Finds calls by end time.';

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS call_session_ended_at_idx;
EOF
}

add_ended_before_query() {
  cat >>sql/queries/call_session.sql <<'EOF'

-- name: ListCallsEndedBefore :many
SELECT id
FROM call_session
WHERE ended_at < @before::timestamptz;
EOF
}

seq_scan_query() {
  add_ended_before_query
}

index_done_right_and_its_query() {
  cat >sql/schema/20261201000001_call_session_ended_at_idx.sql <<'EOF'
-- migrate:up transaction:false
CREATE INDEX CONCURRENTLY IF NOT EXISTS call_session_ended_at_idx ON call_session (ended_at);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY IF EXISTS call_session_ended_at_idx;
EOF
  add_ended_before_query
  regenerate
}

# run_case NAME BREAK EXPECTED_FAILED_GUARDS EXPECTED_MESSAGE ---------------------
# EXPECTED_FAILED_GUARDS "" means the check must pass. Its verdict, ok or FAIL, goes
# to $WORK/NAME.verdict: the cases run at the same time, each in a copy and a
# scratch database of its own, since most of a case is waiting (npx, the database).
run_case() {
  local name=$1 break=$2 want=$3 message=$4 dir=$WORK/$1 out=$WORK/$1.log t got rc=0
  t=$(now)
  copy_tree "$dir"
  if ! (cd "$dir" && "$break") >"$out" 2>&1; then
    log "FAIL $name: could not break the copy:"; sed 's/^/    /' "$out" >&2
    echo FAIL >"$WORK/$name.verdict"; return
  fi
  (cd "$dir" && scripts/schema.sh check) >>"$out" 2>&1 || rc=$?
  got=$(sed -n 's/^schema: FAILED guards: \([a-z ]*\)(.*/\1/p' "$out" | xargs -n1 | sort | xargs)
  want=$(xargs -n1 <<<"$want" | sort | xargs)
  local verdict=ok why=""
  if [[ -z $want ]]; then
    [[ $rc == 0 ]] || { verdict=FAIL why="expected every guard to pass; failed: ${got:-exit $rc}"; }
  elif [[ $rc == 0 ]]; then
    verdict=FAIL why="expected guard(s) '$want' to fail, but the check passed"
  elif [[ $got != "$want" ]]; then
    verdict=FAIL why="expected exactly '$want' to fail; failed: '${got:-?}'"
  elif ! grep -Eq -- "$message" "$out"; then
    verdict=FAIL why="'$want' failed, but without the expected message /$message/"
  fi
  echo "$verdict" >"$WORK/$name.verdict"
  if [[ $verdict == ok ]]; then
    if [[ -z $want ]]; then
      log "ok   $name: every guard passed ($(elapsed "$t"))"
    else
      log "ok   $name: $want failed as expected: $(grep -Em1 -- "$message" "$out" | cut -c1-150) ($(elapsed "$t"))"
    fi
  else
    log "FAIL $name: $why ($(elapsed "$t")); its output:"
    sed 's/^/    /' "$out" >&2
  fi
}

T0=$(now)
run_case unchanged-tree unchanged "" "" &
run_case edited-dump edit_dump dump \
  '^\+.*A company being sold to\.' &
run_case uncommented-column uncommented_column docs \
  'public\.prospect\.website.*comment' &
run_case index-without-concurrently index_without_concurrently squawk \
  'require-concurrent-index-creation' &
run_case concurrently-not-alone concurrently_with_another_statement "dump docs vet" \
  'CREATE INDEX CONCURRENTLY cannot run inside a transaction block' &
run_case seq-scan-query seq_scan_query vet \
  'ListCallsEndedBefore: no-seq-scan-on-hot-tables' &
run_case index-done-right index_done_right_and_its_query "" "" &
CASES=7
wait
PASSED=$(grep -lx ok "$WORK"/*.verdict 2>/dev/null | wc -l)
FAILED=$((CASES - PASSED))

leftover=$(comm -13 <(printf '%s\n' "$DBS_BEFORE") <(scratch_dbs) | sed '/^$/d')
if [[ -n $leftover ]]; then
  # Another run on the same server may own these; say so, do not fail on it.
  log "warning: scratch databases appeared during this run and are still there: ${leftover//$'\n'/ }"
fi

log "all cases ran in $(elapsed "$T0")"
log "$PASSED passed, $FAILED failed"
((FAILED == 0))
