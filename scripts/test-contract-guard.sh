#!/usr/bin/env bash
# Proves that scripts/check-contract.sh (the breaking-change guard of make check)
# fails on each kind of break it exists for, and only then: on scratch copies of
# api/openapi.yaml and CHANGELOG.md it removes a response field, narrows a request
# enum and adds a required parameter, and expects the guard to fail naming that
# change; an additive change, and a break declared under Unreleased, must pass.
# Part of make test-guards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
released=api/released/v1.yaml

# Edits of the spec (from stdin to stdout), each matched to lines that exist once.
remove_response_field() { # Call.endedAt, a required response property
  sed '/^    Call:$/,/^    CallCreate:$/{
    /^        endedAt:$/,/^          description: When the call was completed/d
    s/^      required: \[id, prospectId, status, startedAt, endedAt, createdAt, updatedAt\]$/      required: [id, prospectId, status, startedAt, createdAt, updatedAt]/
  }'
}
narrow_enum() { # POST /v1/calls no longer takes status in_progress
  sed 's/^          enum: \[scheduled, in_progress\]$/          enum: [scheduled]/'
}
add_required_parameter() { # GET /v1/calls needs ?region=
  sed '/^      operationId: listCalls$/,/^      parameters:$/{/^      parameters:$/a\
        - name: region\
          in: query\
          required: true\
          schema:\
            type: string
}'
}
add_optional_things() { # an optional query parameter, and a new response field
  add_required_parameter | sed 's/^          required: true$/          required: false/' |
    sed '/^    Call:$/,/^    CallCreate:$/{/^        updatedAt:$/i\
        notes:\
          type: string\
          nullable: true\
          description: Free text.
}'
}
unchanged() { cat; }

failed=0
# expect pass|fail NAME EDIT [CHANGE_ID] [DECLARE]: DECLARE is unreleased (declare the
# break under Unreleased), released (under a released version) or nothing.
expect() {
  local want=$1 name=$2 edit=$3 id=${4:-} declare=${5:-} dir=$WORK/$2 rc=0
  mkdir -p "$dir"
  $edit <api/openapi.yaml >"$dir/openapi.yaml"
  cp CHANGELOG.md "$dir/CHANGELOG.md"
  if [[ $name != unchanged ]] && cmp -s api/openapi.yaml "$dir/openapi.yaml"; then
    echo "contract-guard: FAIL $name: the edit changed nothing (has the spec moved?)" >&2
    failed=1
    return
  fi
  if [[ -n $declare ]]; then
    # The guard's own suggested lines, under the chosen heading.
    scripts/check-contract.sh "$released" "$dir/openapi.yaml" "$dir/CHANGELOG.md" 2>&1 |
      sed -n 's/^  \(- .*\)$/\1/p' >"$dir/declare" || true
    local heading='## [Unreleased]'
    [[ $declare == released ]] && heading='## [1.0.0]'
    awk -v h="$heading" -v f="$dir/declare" '{print} index($0, h) == 1 {print ""; print "### Breaking"; print ""; while ((getline l < f) > 0) print l}' \
      CHANGELOG.md >"$dir/CHANGELOG.md"
  fi
  scripts/check-contract.sh "$released" "$dir/openapi.yaml" "$dir/CHANGELOG.md" >"$dir.log" 2>&1 || rc=$?
  if [[ $want == fail ]] && { [[ $rc != 1 ]] || ! grep -q "\[$id\]" "$dir.log"; }; then
    rc=0 # failed, but not for the reason under test
  fi
  if [[ $want == pass && $rc == 0 ]] || [[ $want == fail && $rc != 0 ]]; then
    echo "contract-guard: ok   $name ($want${id:+: $id})" >&2
  else
    echo "contract-guard: FAIL $name: expected $want${id:+ ($id)}, exit $rc" >&2
    sed 's/^/    /' "$dir.log" >&2
    failed=1
  fi
}

expect pass unchanged unchanged
expect fail response-field-removed remove_response_field response-required-property-removed
expect fail enum-narrowed narrow_enum request-property-enum-value-removed
expect fail required-parameter-added add_required_parameter new-required-request-parameter
expect pass additive add_optional_things
expect pass break-declared-unreleased remove_response_field "" unreleased
expect fail break-declared-under-a-release remove_response_field response-required-property-removed released

exit $failed
