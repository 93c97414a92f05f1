# higress-rust-plugins. `make help` lists the targets.
SHELL := /bin/bash
CARGO ?= cargo
WASM_TARGET := wasm32-wasip1
# Every plugin crate under plugins/ (one directory each, named like the Higress plugin).
PLUGINS := $(notdir $(patsubst %/Cargo.toml,%,$(wildcard plugins/*/Cargo.toml)))
WASM_DIR := target/$(WASM_TARGET)/release

.PHONY: help setup build test lint fmt run bench clean-dist

help:
	@echo "make setup   install what the build and tests need (wasm32-wasip1 target, redis-server)"
	@echo "make build   compile every plugin to dist/<plugin>/plugin.wasm"
	@echo "make test    build, then run every test (unit, SDK, host, plugin)"
	@echo "make lint    rustfmt check and clippy (warnings denied), native and wasm"
	@echo "make run     start the local gateway with a demo config"
	@echo "make bench   report sizes, wasm instructions and memory per plugin; host time (criterion)"

# Root installs directly; other users go through sudo.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

setup:
	@rustup target list --installed 2>/dev/null | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)
	@command -v redis-server >/dev/null || { echo "installing redis-server (tests run a real one)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server; }

build: setup
	$(CARGO) build --release --target $(WASM_TARGET) $(addprefix -p ,$(PLUGINS))
	@for p in $(PLUGINS); do \
		mkdir -p dist/$$p; \
		cp $(WASM_DIR)/$$(echo $$p | tr - _).wasm dist/$$p/plugin.wasm; \
		printf '  %-28s %8d bytes\n' "dist/$$p/plugin.wasm" $$(stat -c %s dist/$$p/plugin.wasm); \
	done

test: build
	$(CARGO) test --workspace --exclude proxy-wasm-conformance

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --exclude proxy-wasm-conformance -- -D warnings
	$(CARGO) clippy --target $(WASM_TARGET) -p higress-sdk -p higress-abi $(addprefix -p ,$(PLUGINS)) -- -D warnings

# Instruction counts come from wasmtime fuel: exact and repeatable on a noisy machine.
bench: build
	$(CARGO) run -q -p higress-bench
	$(CARGO) bench -p higress-bench

fmt:
	$(CARGO) fmt --all

run:
	@echo "make run starts the local gateway; it arrives with the gateway issue (crates/gateway)."

clean-dist:
	rm -rf dist
