#!/usr/bin/env python3
"""Copies a wasm module without its custom sections (names, producers, target features).

The release profile keeps the name section so that traps in the project's own tests name
the wasm function; the modules shipped in dist/ drop it. Usage: wasm-strip.py IN OUT
"""
import sys


def leb128(data, pos):
    """Reads an unsigned LEB128 integer at pos; returns (value, next position)."""
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated LEB128")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def strip(module):
    if module[:4] != b"\0asm":
        raise ValueError("not a wasm module")
    out, pos = bytearray(module[:8]), 8
    while pos < len(module):
        start = pos
        section_id = module[pos]
        size, body = leb128(module, pos + 1)
        end = body + size
        if end > len(module):
            raise ValueError("truncated section")
        if section_id != 0:
            out += module[start:end]
        pos = end
    return bytes(out)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: wasm-strip.py IN OUT")
    with open(sys.argv[1], "rb") as f:
        module = f.read()
    try:
        stripped = strip(module)
    except ValueError as e:
        sys.exit(f"{sys.argv[1]}: {e}")
    with open(sys.argv[2], "wb") as f:
        f.write(stripped)


if __name__ == "__main__":
    main()
