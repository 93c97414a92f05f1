#!/usr/bin/env python3
"""Creates a plugin from templates/plugin (`make new-plugin NAME=my-plugin [DIR=../my-plugin]`).

In the workspace (no DIR): writes plugins/NAME and registers it everywhere a plugin must be
registered: a WasmPlugin and a route in e2e/config, an e2e suite file, a `make run` demo, a
row in the README's plugin table. With DIR: writes a standalone crate there that depends on
this checkout's SDK by path and builds on its own with
`cargo build --release --target wasm32-wasip1`.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

DEMO_MARKER = "        // make new-plugin: demos above this line\n"


def fail(message):
    sys.exit(f"new-plugin: {message}")


def names(name):
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        fail(f"`{name}` is not a plugin name: lowercase words joined by '-' (my-plugin)")
    return {
        "name": name,
        "crate": name.replace("-", "_"),
        "Type": "".join(part.capitalize() for part in name.split("-")),
    }


def render(template, values):
    with open(template, encoding="utf-8") as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def edit(path, change):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    updated = change(text)
    if updated == text:
        fail(f"{path}: nothing changed")
    with open(path, "w", encoding="utf-8") as f:
        f.write(updated)


def rustfmt(paths):
    """Formats generated Rust the way the tree is formatted (lengths depend on the name)."""
    if shutil.which("rustfmt"):
        subprocess.run(["rustfmt", "--edition", "2021", *paths], check=False)


def crate_files(root, dest, values, cargo_toml):
    template = os.path.join(root, "templates", "plugin")
    write(os.path.join(dest, "Cargo.toml"), render(os.path.join(template, cargo_toml), values))
    write(os.path.join(dest, "src", "lib.rs"), render(os.path.join(template, "src", "lib.rs"), values))
    write(
        os.path.join(dest, "tests", values["crate"] + ".rs"),
        render(os.path.join(template, "tests", "plugin.rs"), values),
    )
    write(os.path.join(dest, "README.md"), render(os.path.join(template, "README.md"), values))
    # The schema of the template's config, as its `config_schema` test derives it: a plugin
    # that changes its config rewrites it with `UPDATE_SCHEMAS=1 cargo test config_schema`.
    write(os.path.join(dest, "config.schema.json"), render(os.path.join(template, "config.schema.json"), values))


def add_mod(text, module):
    lines = text.split("\n")
    mods = [i for i, line in enumerate(lines) if re.fullmatch(r"mod [a-z0-9_]+;", line)]
    if not mods:
        fail("e2e/tests/suite/main.rs: no `mod x;` lines")
    at = next((i for i in mods if lines[i] > f"mod {module};"), mods[-1] + 1)
    lines.insert(at, f"mod {module};")
    return "\n".join(lines)


def add_readme_row(text, name):
    section = text.find("\n## Plugins\n")
    if section < 0:
        fail("README.md: no `## Plugins` section")
    lines = text[section + 1 :].split("\n")
    table = [i for i, line in enumerate(lines) if line.startswith("|")]
    if not table:
        fail("README.md: no plugin table under `## Plugins`")
    end = table[0]
    while end + 1 < len(lines) and lines[end + 1].startswith("|"):
        end += 1
    row = f"| [{name}](plugins/{name}/README.md) | adds the configured `message` as the `x-{name}` request header |"
    lines.insert(end + 1, row)
    return text[: section + 1] + "\n".join(lines)


def in_workspace(root, values):
    name = values["name"]
    dest = os.path.join(root, "plugins", name)
    if os.path.exists(dest):
        fail(f"plugins/{name} already exists")
    template = os.path.join(root, "templates", "plugin")
    crate_files(root, dest, values, "Cargo.toml")
    e2e = os.path.join(root, "e2e")
    edit(os.path.join(e2e, "config", "plugins.yaml"), lambda t: t + render(os.path.join(template, "e2e", "plugin.yaml"), values))
    edit(os.path.join(e2e, "config", "ingresses.yaml"), lambda t: t + render(os.path.join(template, "e2e", "ingress.yaml"), values))
    write(os.path.join(e2e, "tests", "suite", values["crate"] + ".rs"), render(os.path.join(template, "e2e", "suite.rs"), values))
    edit(os.path.join(e2e, "tests", "suite", "main.rs"), lambda t: add_mod(t, values["crate"]))
    demo = render(os.path.join(template, "e2e", "demo.rs"), values)

    def add_demo(text):
        if DEMO_MARKER not in text:
            fail(f"e2e/src/demo.rs: no `{DEMO_MARKER.strip()}` line")
        return text.replace(DEMO_MARKER, demo + DEMO_MARKER)

    edit(os.path.join(e2e, "src", "demo.rs"), add_demo)
    edit(os.path.join(root, "README.md"), lambda t: add_readme_row(t, name))
    rustfmt(
        [
            os.path.join(dest, "src", "lib.rs"),
            os.path.join(dest, "tests", values["crate"] + ".rs"),
            os.path.join(e2e, "tests", "suite", values["crate"] + ".rs"),
            os.path.join(e2e, "tests", "suite", "main.rs"),
            os.path.join(e2e, "src", "demo.rs"),
        ]
    )
    print(f"created plugins/{name}, registered in e2e/config, e2e/tests/suite, e2e/src/demo.rs and README.md")
    print(f"next: make test, then make run and: curl -sS -i -H 'Host: {name}.e2e.local' http://127.0.0.1:8080/")


def standalone(root, values, dest):
    if os.path.exists(os.path.join(dest, "Cargo.toml")):
        fail(f"{dest}/Cargo.toml already exists")
    values = dict(values, sdk=os.path.abspath(root))
    crate_files(root, dest, values, "Cargo.standalone.toml")
    write(os.path.join(dest, ".gitignore"), "/target\n")
    print(f"created {dest}: cd {dest} && cargo build --release --target wasm32-wasip1 && cargo test")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("name")
    parser.add_argument("dir", nargs="?", default="", help="write a standalone crate here")
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = parser.parse_args()
    values = names(args.name)
    if args.dir:
        standalone(args.root, values, args.dir)
    else:
        in_workspace(args.root, values)


if __name__ == "__main__":
    main()
