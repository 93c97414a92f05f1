//! The curl commands `make run` prints: every one gets the status it promises.

use crate::gateway;
use higress_e2e::demo::requests;

#[test]
fn demo_commands_work() {
    for demo in requests().unwrap_or_else(|e| panic!("{e}")) {
        let mut request = gateway().request(demo.method, demo.host, &demo.path);
        for (name, value) in &demo.headers {
            request = request.header(name, value);
        }
        if let Some(body) = &demo.body {
            request = request.body(body.clone());
        }
        let reply = request.send();
        assert_eq!(reply.status, demo.status, "{}: {}", demo.title, reply.text());
    }
}
