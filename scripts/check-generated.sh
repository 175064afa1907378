#!/usr/bin/env bash
# Fails when committed generated code differs from what the sources give:
# `sqlc diff` for internal/db, and a regenerate-and-compare for go:generate output
# and the TypeScript client's types (clients/typescript/src/schema.gen.ts).
set -euo pipefail
cd "$(dirname "$0")/.."

go tool -modfile=tools/go.mod sqlc diff || { echo "internal/db is not what sqlc generates from sql/: run make generate"; exit 1; }

# Every go:generate output, and the TypeScript client's types (openapi-typescript,
# pinned in clients/typescript/package-lock.json), are regenerated in a scratch
# copy of the tree and compared.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$scratch"
(cd "$scratch" && go generate ./...)
scripts/ts-deps.sh
ts=clients/typescript
ln -s "$PWD/$ts/node_modules" "$scratch/$ts/node_modules"
(cd "$scratch/$ts" && npm run --silent generate >generate.log 2>&1) || { cat "$scratch/$ts/generate.log"; exit 1; }
status=0
while IFS= read -r f; do
  if ! cmp -s "$f" "$scratch/$f"; then
    echo "generated file out of date: $f (run make generate)"
    status=1
  fi
done < <(git ls-files '*.gen.go' '*.gen.ts')
exit $status
