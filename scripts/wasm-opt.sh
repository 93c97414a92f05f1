#!/bin/sh
# Optimises a plugin module for size with binaryen's wasm-opt (-Oz: about 10% smaller, and a
# few percent fewer instructions per request), keeping the name section (-g) so that traps in
# the project's tests name the wasm function. `make build` and the host's test loader
# (higress_host::testing::build_plugin) both call it, so the tests run the module that ships.
# Writes through a temporary file: test processes may optimise the same module at once.
# Usage: wasm-opt.sh IN OUT
set -e
command -v wasm-opt >/dev/null || { echo "wasm-opt not found: make setup installs it (Debian package binaryen)" >&2; exit 127; }
wasm-opt -Oz -g "$1" -o "$2.tmp.$$"
mv "$2.tmp.$$" "$2"
