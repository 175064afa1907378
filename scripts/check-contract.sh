#!/usr/bin/env bash
# The breaking-change guard (part of make check): compares the working spec with
# the released contract using oasdiff (pinned in tools/go.mod) and fails on any
# breaking change (a removed or narrowed field, a narrowed enum, a new required
# parameter, ...) that CHANGELOG.md does not declare. Additive changes pass.
#
# A break is declared by one line under "## [Unreleased]" in CHANGELOG.md (by
# convention in a "### Breaking" list) holding the operation and oasdiff's own
# words, as this script prints them on failure, e.g.
#   - GET /v1/calls removed the required property `items/items/endedAt` from the response with the `200` status
# (oasdiff's --err-ignore matching: the method and path, and the change's text).
# Lines under released versions declare nothing.
#
#   scripts/check-contract.sh [RELEASED [SPEC [CHANGELOG]]]
# defaults: api/released/v1.yaml api/openapi.yaml CHANGELOG.md (scripts/test-contract-guard.sh
# passes scratch copies).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
released=${1:-api/released/v1.yaml}
spec=${2:-api/openapi.yaml}
changelog=${3:-CHANGELOG.md}

declared=$(mktemp)
trap 'rm -f "$declared"' EXIT
grep -q '^## \[Unreleased\]' "$changelog" || { echo "contract: $changelog has no \"## [Unreleased]\" section" >&2; exit 1; }
awk '/^## /{unreleased = /^## \[Unreleased\]/} unreleased' "$changelog" >"$declared"

rc=0
out=$(go tool -modfile=tools/go.mod oasdiff breaking "$released" "$spec" \
  --fail-on ERR --err-ignore "$declared" --format singleline --color never 2>&1) || rc=$?
case $rc in
0)
  echo "contract: no undeclared breaking change between $released and $spec"
  ;;
1)
  echo "contract: $spec breaks the released contract $released:" >&2
  grep '^error' <<<"$out" | sed 's/^/  /' >&2
  echo "Make the change additive, or, if the break is deliberate, declare each one in $changelog" >&2
  echo "under \"## [Unreleased]\" / \"### Breaking\", one line each, as:" >&2
  sed -n 's/^error at [^,]*, in API \(.*\) \[[a-z0-9-]*\]\. *$/  - \1/p' <<<"$out" >&2
  ;;
*)
  echo "contract: oasdiff could not compare $released with $spec (exit $rc):" >&2
  echo "$out" >&2
  ;;
esac
exit $rc
