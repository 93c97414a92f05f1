//! A bad configuration stops the gateway at start with the file, the document, the path
//! inside it and the reason.

use crate::{hgw, render, temp_dir};

fn check(yaml: &str) -> String {
    let dir = temp_dir();
    let file = dir.join("gateway.yaml");
    std::fs::write(&file, render(yaml, "127.0.0.1:1")).unwrap_or_else(|e| panic!("{e}"));
    let (ok, _, stderr) = hgw(&["check", "--config", &file.display().to_string()]);
    assert!(!ok, "accepted:\n{yaml}");
    let (serve_ok, _, serve_err) = hgw(&["serve", "--config", &file.display().to_string(), "--listen", "127.0.0.1:0"]);
    assert!(!serve_ok);
    assert_eq!(serve_err, stderr, "serve and check report the same problem");
    let _ = std::fs::remove_dir_all(&dir);
    stderr.replace(&file.display().to_string(), "FILE")
}

#[test]
fn errors_name_the_file_document_path_and_reason() {
    let cases: &[(&str, &str)] = &[
        ("kind: Route\nname: r\nservice: [", "FILE (document 1): invalid YAML: did not find expected node content"),
        ("kind: Gateway\n", "FILE (document 1): kind: unknown kind `Gateway` (WasmPlugin, Ingress, McpBridge, Route or Service)"),
        ("name: x\n", "FILE (document 1): kind: missing"),
        ("kind: Service\nname: s\nport: 80\naddress: nowhere\n", "FILE (document 1): address: `nowhere` is not host:port"),
        ("kind: Service\nname: s\nport: 99999\naddress: a:1\n", "FILE (document 1): port:"),
        (
            "kind: Service\nname: s\nport: 80\naddress: a:1\n---\nkind: Route\nname: r\nservice: missing\n",
            "FILE (document 2): service: route `r` targets unknown service `missing`",
        ),
        ("kind: Route\nname: r\npath: {regex: '('}\nservice: s\n", "FILE (document 1): path.regex:"),
        ("kind: Route\nname: r\ndomian: [a.test]\nservice: s\n", "FILE (document 1): domian: unknown field `domian`, expected one of `kind`, `name`, `domains`"),
        ("kind: Route\nname: r\npath: {suffix: /x}\nservice: s\n", "FILE (document 1): path: unknown variant `suffix`"),
        (
            "kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  url: file://{plugin:hello-world}\n  matchRules: [{config: {a: 1}}]\n",
            "FILE (document 1): spec.matchRules[0]: a match rule needs ingress, domain or service",
        ),
        ("kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  url: ftp://registry/p.wasm\n", "FILE (document 1): spec.url: WasmPlugin p: `ftp://registry/p.wasm`: expected a file://, http(s):// or oci:// URL"),
        ("kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  url: file:///no/such.wasm\n", "FILE (document 1): spec.url: WasmPlugin p: /no/such.wasm does not exist"),
        ("kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  url: file://{plugin:hello-world}\n  phase: EARLY\n", "FILE (document 1): spec.phase: unknown variant `EARLY`"),
        ("kind: WasmPlugin\nmetadata: {name: p}\nspec:\n  url: file://{plugin:hello-world}\n  failStrategy: MAYBE\n", "FILE (document 1): spec.failStrategy: unknown variant `MAYBE`"),
        ("kind: Service\nname: s\nport: 80\naddress: ${NO_SUCH_VARIABLE_HGW}\n", "FILE: environment variable `NO_SUCH_VARIABLE_HGW` is not set"),
    ];
    for (yaml, expected) in cases {
        let message = check(yaml);
        assert!(
            message.starts_with(&format!("hgw: {expected}")),
            "for\n{yaml}\nexpected `{expected}`, got:\n{message}"
        );
    }
}

#[test]
fn a_plugin_whose_config_is_refused_is_reported_by_check() {
    let dir = temp_dir();
    let file = dir.join("gateway.yaml");
    let yaml = "kind: WasmPlugin\nmetadata: {name: p, namespace: ns}\nspec:\n  url: file://{plugin:hello-world}\n  defaultConfig: {header: 'bad header'}\n";
    std::fs::write(&file, render(yaml, "127.0.0.1:1")).unwrap_or_else(|e| panic!("{e}"));
    let (ok, _, stderr) = hgw(&["check", "--config", &file.display().to_string()]);
    assert!(!ok);
    assert!(stderr.contains("ns.p: "), "{stderr}");
    assert!(stderr.contains("header: `bad header` is not a valid header name"), "{stderr}");
}

#[test]
fn help_explains_every_flag() {
    let (ok, help, _) = hgw(&["serve", "--help"]);
    assert!(ok);
    for flag in ["--config", "--listen", "--workers", "--log-level", "--access-log"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    let (ok, help, _) = hgw(&["envoy-config", "--help"]);
    assert!(ok);
    for flag in ["--config", "--plugin-dir", "--port", "--admin-port"] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
}
