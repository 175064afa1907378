#!/usr/bin/env bash
# Installs the TypeScript client's pinned packages (clients/typescript: npm ci, from
# package-lock.json) unless node_modules already holds what that lock file says, so
# make generate and the generated-code guard have openapi-typescript at hand. The
# lock file npm ci installed from is kept in node_modules and compared by content
# (copies of the tree, as the guards make, have new timestamps).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../clients/typescript"
# In the guards' scratch copies node_modules links to the real tree's: npm ci there
# would empty the real one.
[[ -L node_modules ]] && exit 0
stamp=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund >&2
  cp package-lock.json "$stamp"
fi
