#!/usr/bin/env bash
# Proves that scripts/check-generated.sh (part of make check) fails when generated
# code is edited by hand or a source changes without regenerating. Each case
# breaks a scratch copy of the tree, never the real one. Part of make test-guards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

copy_tree() {
  mkdir -p "$1"
  git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
    while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done |
    xargs -0 cp --parents -t "$1"
  # check-generated.sh lists generated files with git
  git -C "$1" init -q && git -C "$1" add -A
  # openapi-typescript, installed once in the real tree
  ln -s "$ROOT/clients/typescript/node_modules" "$1/clients/typescript/node_modules"
}

scripts/ts-deps.sh
failed=0
expect() { # expect pass|fail NAME COMMAND...
  local want=$1 name=$2 dir=$WORK/$2 rc=0
  shift 2
  copy_tree "$dir"
  (cd "$dir" && "$@") >/dev/null 2>&1 || { echo "generated-guard: could not break the copy for $name" >&2; failed=1; return; }
  (cd "$dir" && scripts/check-generated.sh) >"$dir.log" 2>&1 || rc=$?
  if [[ $want == fail ]] && ! grep -q "out of date\|not what sqlc generates" "$dir.log"; then
    rc=0 # failed, but not for the reason under test
  fi
  if [[ $want == pass && $rc == 0 ]] || [[ $want == fail && $rc != 0 ]]; then
    echo "generated-guard: ok   $name ($want)" >&2
  else
    echo "generated-guard: FAIL $name: expected $want, exit $rc" >&2
    sed 's/^/    /' "$dir.log" >&2
    failed=1
  fi
}

expect pass unchanged true
expect fail sqlc-output-edited sed -i 's/^type Prospect struct {/type Prospect struct {\n\tEdited bool/' internal/db/models.go
expect fail query-changed-not-regenerated sed -i 's/^ORDER BY created_at DESC, id DESC$/ORDER BY created_at DESC, id/' sql/queries/prospect.sql
expect fail oapi-output-edited sed -i '1a // edited by hand' internal/http/api.gen.go
expect fail spec-changed-not-regenerated sed -i 's/^  title: callsvc$/  title: callsvc edited/' api/openapi.yaml
expect fail ts-output-edited sed -i '1a // edited by hand' clients/typescript/src/schema.gen.ts
# The Go output regenerated, the TypeScript types not: the guard still sees it.
expect fail spec-changed-ts-not-regenerated bash -c "sed -i 's/^      description: A sales call with one prospect\.$/      description: A sales call./' api/openapi.yaml && go generate ./..."

exit $failed
