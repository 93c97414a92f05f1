//! Kubernetes Ingress, Higress's McpBridge and WasmPlugin manifests, written as Higress
//! documents them, run unchanged through the gateway: routes named `<namespace>/<name>`
//! (what `ingress:` match rules name), wildcard hosts, the three path types, service and
//! McpBridge backends, the rewrite and upstream-host annotations.

use crate::{hgw, temp_dir, Gw};

const MANIFESTS: &str = r#"
apiVersion: networking.higress.io/v1
kind: McpBridge
metadata:
  name: default
  namespace: higress-system
spec:
  registries:
    - type: static
      name: echo
      domain: "{echo}"
      port: 80
---
# What a Kubernetes Service would resolve to: hgw's own Service document.
kind: Service
name: web.default.svc.cluster.local
port: 8080
address: "{echo}"
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: default
spec:
  ingressClassName: higress
  rules:
    - host: "*.example.com"
      http:
        paths:
          - path: /app
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 8080
          - path: /exact
            pathType: Exact
            backend:
              service:
                name: web
                port:
                  number: 8080
          - path: /files
            pathType: ImplementationSpecific
            backend:
              service:
                name: web
                port:
                  number: 8080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: api
  namespace: default
  annotations:
    higress.io/destination: echo.static
    higress.io/rewrite-target: /v2
    higress.io/upstream-vhost: internal.api
spec:
  ingressClassName: higress
  rules:
    - host: api.example.com
      http:
        paths:
          - path: /v1
            pathType: Prefix
            backend:
              resource:
                apiGroup: networking.higress.io
                kind: McpBridge
                name: default
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: regex
  namespace: default
  annotations:
    nginx.ingress.kubernetes.io/use-regex: "true"
    nginx.ingress.kubernetes.io/rewrite-target: /$2
spec:
  rules:
    - host: re.example.org
      http:
        paths:
          - path: /shop(/|$)(.*)
            pathType: ImplementationSpecific
            backend:
              service:
                name: web
                port:
                  number: 8080
---
# Another controller's Ingress: not served here.
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: theirs
  namespace: default
spec:
  ingressClassName: nginx
  rules:
    - host: theirs.example.com
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: web
                port:
                  number: 8080
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata:
  name: hello-world
  namespace: higress-system
spec:
  url: file://{plugin:hello-world}
  defaultConfigDisable: true
  matchRules:
    - ingress: [default/api]
      config:
        count_request_body: true
"#;

#[test]
fn higress_manifests_run_unchanged() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(MANIFESTS, &echo, 1);
    let client = gw.client();

    let reply = client.get("shop.example.com", "/app/cart?x=1").send();
    assert_eq!(reply.status, 200);
    let seen = reply.echo();
    assert_eq!(seen.0["path"], "/app/cart?x=1");
    assert!(seen.header("x-hello-world").is_none(), "the plugin's rule names another Ingress");
    assert_eq!(client.get("shop.example.com", "/app").send().status, 200);
    assert_eq!(client.get("shop.example.com", "/application").send().status, 404, "Prefix matches whole segments");
    assert_eq!(client.get("shop.example.com", "/exact").send().status, 200);
    assert_eq!(client.get("shop.example.com", "/exact/more").send().status, 404);
    assert_eq!(client.get("shop.example.com", "/filesystem").send().status, 200, "ImplementationSpecific: a prefix");
    assert_eq!(client.get("example.com", "/app").send().status, 404, "`*.example.com` needs a label");
    assert_eq!(client.get("theirs.example.com", "/").send().status, 404, "another class");

    // The McpBridge destination, the prefix rewrite, the upstream host, the `ingress:` rule.
    let reply = client.post("api.example.com", "/v1/users?id=7", "body").send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = reply.echo();
    assert_eq!(seen.0["path"], "/v2/users?id=7");
    assert_eq!(seen.header("host").as_deref(), Some("internal.api"));
    assert_eq!(seen.header("x-request-body-bytes").as_deref(), Some("4"), "hello-world ran on default/api");

    let reply = client.get("re.example.org", "/shop/item/3").send();
    assert_eq!(reply.echo().0["path"], "/item/3", "regex groups in the rewrite target");

    let log = gw.wait_for(Gw::access_log, "route=default/api");
    assert!(log.contains("route=default/web upstream=outbound|8080||web.default.svc.cluster.local"), "{log}");
    assert!(log.contains("route=default/api upstream=outbound|80||echo.static"), "{log}");
}

#[test]
fn what_the_gateway_cannot_honour_is_refused_by_name() {
    let dir = temp_dir();
    let check = |text: &str| {
        let path = dir.join("c.yaml");
        std::fs::write(&path, text).unwrap();
        hgw(&["check", "--config", &path.display().to_string()])
    };
    let ingress = |annotations: &str, backend: &str| {
        format!(
            "kind: Service\nname: web.default.svc.cluster.local\nport: 80\naddress: 127.0.0.1:1\n---\n\
             apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: a\n  annotations: {annotations}\n\
             spec:\n  rules:\n    - http:\n        paths:\n          - path: /\n            pathType: Prefix\n            backend: {backend}\n"
        )
    };
    let service = "{service: {name: web, port: {number: 80}}}";
    let (ok, _, err) = check(&ingress("{higress.io/canary: \"true\"}", service));
    assert!(!ok && err.contains("metadata.annotations.higress.io/canary: not supported"), "{err}");
    let (ok, _, err) = check(&ingress("{higress.io/timeout: \"1.5\"}", service));
    assert!(!ok && err.contains("metadata.annotations.higress.io/timeout: `1.5`: expected whole seconds"), "{err}");
    let (ok, _, _) = check(&ingress("{nginx.ingress.kubernetes.io/timeout: \"30\"}", service));
    assert!(ok, "timeout is read as Higress reads it");
    let (ok, _, err) = check(&ingress("{}", "{service: {name: web, port: {name: http}}}"));
    assert!(!ok && err.contains("spec.rules[0].http.paths[0].backend.service.port.name"), "{err}");
    let (ok, _, err) = check(&ingress("{}", "{service: {name: other, port: {number: 80}}}"));
    assert!(!ok && err.contains("unknown service `other.default.svc.cluster.local:80`"), "{err}");
    let (ok, _, err) =
        check(&ingress("{}", "{resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}}"));
    assert!(!ok && err.contains("higress.io/destination"), "{err}");
    let (ok, _, err) = check(&ingress("{higress.io/destination: \"60% a.dns\\n40% b.dns\"}", service));
    assert!(!ok && err.contains("weighted"), "{err}");
    let (ok, _, err) =
        check("apiVersion: networking.higress.io/v1\nkind: McpBridge\nmetadata: {name: default}\nspec:\n  registries:\n    - {type: nacos, name: n, domain: x}\n");
    assert!(!ok && err.contains("spec.registries[0].type: `nacos`"), "{err}");
    let (ok, _, err) = check("apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: a}\nspec: {}\n");
    assert!(!ok && err.contains("apiVersion: `networking.k8s.io/v1beta1`"), "{err}");
    // The bootstrap for Envoy carries the same routes: checked by Envoy's definitions in docker.rs.
    let (ok, out, err) = hgw(&["envoy-config", "--config", &{
        let path = dir.join("ok.yaml");
        std::fs::write(&path, ingress("{higress.io/rewrite-target: /v2}", service)).unwrap();
        path.display().to_string()
    }]);
    assert!(ok, "{err}");
    assert!(out.contains("\"path_separated_prefix\"") || out.contains("\"prefix\": \"/\""), "{out}");
    assert!(out.contains("\"regex_rewrite\""), "{out}");
}
