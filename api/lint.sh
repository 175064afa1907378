#!/usr/bin/env bash
# Lints the OpenAPI description with Spectral (ruleset spectral:oas, see .spectral.yaml)
# and Redocly CLI (recommended rules plus our own, see redocly.yaml).
# Run from anywhere; exits non-zero on any error from either linter.
set -euo pipefail

SPECTRAL_VERSION=6.16.3
REDOCLY_VERSION=2.77.0

cd "$(dirname "${BASH_SOURCE[0]}")/.."

npx --yes "@stoplight/spectral-cli@${SPECTRAL_VERSION}" lint \
	--ruleset .spectral.yaml --fail-severity=error api/openapi.yaml

REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	npx --yes "@redocly/cli@${REDOCLY_VERSION}" lint --config redocly.yaml api/openapi.yaml
