"""Checks Envoy bootstraps against Envoy's own API definitions (the xds-protos package).

Each file is parsed into envoy.config.bootstrap.v3.Bootstrap with unknown fields refused,
and every typed config (`@type`) resolved to its message: a misspelt field, a value of the
wrong type or an extension Envoy does not know fails, naming where. Usage:
check_bootstrap.py <bootstrap.json>...  (exit status 1 when any fails).
"""
import importlib
import json
import sys

from google.protobuf import json_format

# The messages typed configs may name: every v3 extension and config module is loaded so
# that any `@type` in a bootstrap resolves (a name Envoy does not have stays unresolved and
# fails the parse).
import envoy.config.bootstrap.v3.bootstrap_pb2 as bootstrap_pb2
import pkgutil
import envoy.extensions
import envoy.config


def load_all(package):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if module.name.endswith("_pb2"):
            try:
                importlib.import_module(module.name)
            except Exception:  # a module that does not load names nothing a bootstrap uses
                pass


load_all(envoy.extensions)
load_all(envoy.config)

failed = False
for path in sys.argv[1:]:
    with open(path) as f:
        text = f.read()
    try:
        json.loads(text)
        message = json_format.Parse(text, bootstrap_pb2.Bootstrap(), ignore_unknown_fields=False)
    except (json_format.ParseError, ValueError) as error:
        print(f"{path}: {error}")
        failed = True
        continue
    listeners = len(message.static_resources.listeners)
    clusters = len(message.static_resources.clusters)
    print(f"{path}: valid ({listeners} listeners, {clusters} clusters)")
sys.exit(1 if failed else 0)
