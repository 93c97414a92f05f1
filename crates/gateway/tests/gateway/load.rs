//! 1 000 requests at once through an auth chain: none lost, none answered with another's
//! response.

use crate::{echo_routes, Gw};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

const CHAIN: &str = r#"
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: key-auth}
spec:
  url: file://{plugin:key-auth}
  phase: AUTHN
  defaultConfig:
    keys: [x-api-key]
    consumers:
      - {name: even, credential: key-even}
      - {name: odd, credential: key-odd}
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: hello}
spec:
  url: file://{plugin:hello-world}
  defaultConfig: {count_request_body: true}
"#;

async fn one(address: String, i: usize) -> Result<(), String> {
    let stream = tokio::net::TcpStream::connect(&address).await.map_err(|e| format!("{i}: connect: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let key = if i.is_multiple_of(2) { "key-even" } else { "key-odd" };
    let body = format!("body of request {i}");
    let request = hyper::Request::post(format!("/req/{i}"))
        .header("host", "load.test")
        .header("x-api-key", key)
        .header("x-n", i.to_string())
        .body(Full::new(Bytes::from(body.clone())))
        .map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| format!("{i}: {e}"))?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.map_err(|e| format!("{i}: {e}"))?.to_bytes();
    let echo: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| format!("{i}: status {status}: {e}"))?;
    let header = |name: &str| echo["headers"][name][0].as_str().unwrap_or_default().to_string();
    let expected = (
        format!("/req/{i}"),
        i.to_string(),
        if i.is_multiple_of(2) { "even" } else { "odd" }.to_string(),
        body.len().to_string(),
        body,
    );
    let got = (
        echo["path"].as_str().unwrap_or_default().to_string(),
        header("x-n"),
        header("x-mse-consumer"),
        header("x-request-body-bytes"),
        echo["body"].as_str().unwrap_or_default().to_string(),
    );
    if status != 200 || got != expected {
        return Err(format!("request {i}: status {status}, got {got:?}, expected {expected:?}"));
    }
    Ok(())
}

#[test]
fn a_thousand_concurrent_requests_get_their_own_responses() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(&format!("{}{CHAIN}", echo_routes(&["load.test"])), &echo, 2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let failures: Vec<String> = runtime.block_on(async {
        let tasks: Vec<_> = (0..1000).map(|i| tokio::spawn(one(gw.address.clone(), i))).collect();
        let mut failures = Vec::new();
        for task in tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => failures.push(e),
                Err(e) => failures.push(e.to_string()),
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} of 1000 failed, e.g. {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );
    let log = gw.wait_for(Gw::access_log, "/req/999");
    let lines = log.lines().filter(|l| l.contains("\"POST /req/") && l.contains(" 200 ")).count();
    let log = if lines == 1000 {
        log
    } else {
        std::thread::sleep(std::time::Duration::from_secs(1));
        gw.access_log()
    };
    assert_eq!(log.lines().filter(|l| l.contains("\"POST /req/") && l.contains(" 200 ")).count(), 1000);
}
