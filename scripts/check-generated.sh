#!/usr/bin/env bash
# Fails when committed generated code differs from what the sources give:
# `sqlc diff` for internal/db, and a regenerate-and-compare for go:generate output.
set -euo pipefail
cd "$(dirname "$0")/.."

go tool -modfile=tools/go.mod sqlc diff || { echo "internal/db is not what sqlc generates from sql/: run make generate"; exit 1; }

# Every go:generate output is regenerated in a scratch copy of the tree and compared.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch"
(cd "$scratch" && go generate ./...)
status=0
while IFS= read -r f; do
  if ! cmp -s "$f" "$scratch/$f"; then
    echo "generated file out of date: $f (run make generate)"
    status=1
  fi
done < <(git ls-files '*.gen.go')
exit $status
