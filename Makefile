# callsvc — run `make help` for the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

TOOL         := go tool -modfile=tools/go.mod
DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/callsvc?sslmode=disable
ADDR         ?= :8080
BIN          := bin/callsvc

# The server where schema tooling creates (and drops) its scratch databases.
SCHEMA_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
export SCHEMA_DATABASE_URL

.PHONY: help
help: ## Show this help.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

.PHONY: generate
generate: ## Regenerate sqlc, oapi-codegen and openapi-typescript output from sql/ and api/.
	$(TOOL) sqlc generate
	go generate ./...
	scripts/ts-deps.sh
	cd clients/typescript && npm run --silent generate

.PHONY: build
build: ## Build the callsvc binary into bin/ (stamped with its git commit: callsvc version).
	go build -buildvcs=true -o $(BIN) ./cmd/callsvc

.PHONY: run
run: build ## Serve on the local PostgreSQL (DATABASE_URL), migrating first.
	@scripts/pg-up.sh
	@echo "callsvc: serving on $(ADDR) with $(DATABASE_URL)"
	@echo "callsvc: in another terminal, create an organization and its API key with:"
	@echo "  DATABASE_URL='$(DATABASE_URL)' $(BIN) org create --name Acme"
	@echo "callsvc: then see README.md, First call; interactive API docs at /docs on $(ADDR)"
	DATABASE_URL='$(DATABASE_URL)' $(BIN) serve --addr $(ADDR) --migrate

.PHONY: test
test: ## Run every test with the race detector against a real PostgreSQL.
	@scripts/pg-up.sh
	go test -race -count=1 ./...

.PHONY: test-ts
test-ts: ## The TypeScript client's tests (npm ci && npm test) against bin/callsvc on a scratch database.
	scripts/test-ts.sh

# The fuzz targets, as package:Target; their seed corpora (testdata/fuzz) run in `make test`.
FUZZ_TARGETS := ./internal/ijson:FuzzCheck ./internal/service:FuzzCursorDecode ./internal/service:FuzzFingerprint ./cmd/callsvc:FuzzHTTP
FUZZTIME     ?= 30s

.PHONY: fuzz
fuzz: ## Fuzz each target for FUZZTIME (default 30s); an input that fails is saved under its package's testdata/fuzz.
	@scripts/pg-up.sh
	@for target in $(FUZZ_TARGETS); do \
		pkg=$${target%%:*}; name=$${target##*:}; \
		echo "fuzz: $$name ($$pkg) for $(FUZZTIME)"; \
		go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$pkg" || exit 1; \
	done

.PHONY: contract
contract: ## The end-to-end tests through Stoplight Prism's validation proxy; fails on any answer that breaks api/openapi.yaml.
	@scripts/pg-up.sh
	scripts/contract.sh

.PHONY: test-containers
test-containers: ## Run the database tests in a testcontainers PostgreSQL (Docker, or Podman here).
	scripts/test-containers.sh

.PHONY: pg-image
pg-image: ## Build the local PostgreSQL image for Podman (scripts/pg-image.sh).
	scripts/pg-image.sh

.PHONY: bench
bench: build ## Outcome throughput vs the PostgreSQL limit, in a scratch database (bench/README.md; BENCH_FLAGS=-h).
	go run ./cmd/callbench -database-url '$(DATABASE_URL)' -server $(BIN) $(BENCH_FLAGS)

.PHONY: cluster-up
cluster-up: ## PgBouncer on 127.0.0.1:6432, CLUSTER_REPLICAS servers (3), HAProxy on 127.0.0.1:8088 (docs/operations.md).
	DATABASE_URL='$(DATABASE_URL)' scripts/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop what cluster-up started, by PID.
	scripts/cluster.sh down

.PHONY: test-cluster
test-cluster: ## The contract across servers on a cluster of its own (scratch database, free ports), about 1 minute.
	scripts/cluster.sh test

.PHONY: image
image: ## Container image (Containerfile): static binary + CA certificates FROM scratch, with Podman, offline; checks size < 30 MB, non-root, no shell.
	scripts/image.sh build

.PHONY: image-smoke
image-smoke: ## Build the image, then run migrate, org create and serve from it on loopback (--network=host): outcome 201; 30-45 s.
	scripts/image.sh smoke

.PHONY: first-call
first-call: ## Run the README's First call against a fresh server, as a new user would.
	scripts/first-call.sh

.PHONY: test-prometheus
test-prometheus: ## Debian's prometheus scrapes a traced server: up, outcome counter = outcomes made, exemplars, promtool check metrics.
	scripts/test-prometheus.sh

.PHONY: check
check: ## gofmt, go vet, staticcheck, generated code up to date, spec lint, no undeclared breaking API change, schema guards.
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...
	$(TOOL) staticcheck ./...
	scripts/check-generated.sh
	api/lint.sh
	scripts/check-contract.sh
	$(MAKE) --no-print-directory schema-check

.PHONY: schema-dump
schema-dump: ## Rewrite sql/schema.sql: pg_dump of a scratch database after all migrations.
	scripts/schema.sh dump

.PHONY: schema-docs
schema-docs: ## Rewrite docs/schema/ (tbls docs and Mermaid ER diagram) from a scratch database.
	scripts/schema.sh docs

.PHONY: schema-check
schema-check: ## Schema guards: dump and docs current, tbls lint, squawk, sqlc vet.
	scripts/schema.sh check

.PHONY: test-guards
test-guards: ## Prove each schema, generated-code and contract guard fails when broken on purpose (on scratch copies).
	scripts/test-guards.sh
	scripts/test-generated-guard.sh
	scripts/test-contract-guard.sh
