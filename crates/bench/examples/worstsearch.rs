//! The adversarial search behind issue 9's worst cases: request shapes (within Envoy's
//! 60 KiB request head) and configurations that make a plugin execute the most wasm
//! instructions. Each case prints the instructions of its whole stream. Not part of
//! `make bench`: several cases cost hundreds of millions of instructions today.
//
//   worstsearch [FILTER]                 every case whose label contains FILTER
//   worstsearch random PLUGIN [N]        random shapes against PLUGIN's configs
//   worstsearch profile LABEL [DEPTH] [STEP]   fuel-sampling profile of the first case
//                                        whose label contains LABEL (raw module: names)
use higress_host::{Env, HeaderMap, Plugin, Vm};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

const LIMIT: usize = 60 * 1024;

#[derive(Clone)]
struct Req {
    method: String,
    authority: String,
    path: String,
    headers: Vec<(String, Vec<u8>)>,
    response: Vec<(String, String)>,
}

impl Req {
    fn new(path: impl Into<String>) -> Req {
        Req {
            method: "GET".into(),
            authority: "api.example.com".into(),
            path: path.into(),
            headers: vec![],
            response: vec![(":status".into(), "200".into())],
        }
    }
    fn h(mut self, k: &str, v: impl AsRef<[u8]>) -> Req {
        self.headers.push((k.into(), v.as_ref().to_vec()));
        self
    }
    fn method(mut self, m: &str) -> Req {
        self.method = m.into();
        self
    }
    fn resp(mut self, k: &str, v: &str) -> Req {
        self.response.push((k.into(), v.into()));
        self
    }
    fn head_bytes(&self) -> usize {
        self.path.len()
            + self.authority.len()
            + self.method.len()
            + 40
            + self.headers.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
    }
    fn map(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.add(b":authority", self.authority.as_bytes());
        h.add(b":path", self.path.as_bytes());
        h.add(b":method", self.method.as_bytes());
        h.add(b":scheme", b"http");
        for (k, v) in &self.headers {
            h.add(k.as_bytes(), v);
        }
        h
    }
    fn resp_map(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in &self.response {
            h.add(k.as_bytes(), v.as_bytes());
        }
        h
    }
    fn shape(&self) -> String {
        let p = if self.path.len() > 60 {
            format!("{}...({} B)", self.path.chars().take(60).collect::<String>(), self.path.len())
        } else {
            self.path.clone()
        };
        format!("{} {} +{} headers ({} B head)", self.method, p, self.headers.len(), self.head_bytes())
    }
}

struct Case {
    label: String,
    plugin: &'static str,
    config: Value,
    req: Req,
}

fn wasm_path(plugin: &str, raw: bool) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/wasm32-wasip1/release");
    let name = plugin.replace('-', "_");
    if raw {
        format!("{root}/{name}.wasm")
    } else {
        format!("{root}/{name}.opt.wasm")
    }
}

fn load(plugin: &str, raw: bool) -> Plugin {
    let p = wasm_path(plugin, raw);
    Plugin::load(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn start(plugin: &Plugin, config: &Value, fuel: Option<u64>) -> Vm {
    let env = Env::with_manual_clock(Duration::from_secs(1_700_000_000));
    let mut b = Vm::builder(plugin).env(&env).config_json(config);
    if let Some(f) = fuel {
        b = b.fuel_per_call(f);
    }
    b.start().unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------- shapes

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Joins `items` with `sep` up to `budget` bytes.
fn fill(budget: usize, sep: &str, mut item: impl FnMut(usize) -> String) -> String {
    let mut out = String::new();
    let mut i = 0;
    loop {
        let it = item(i);
        if out.len() + it.len() + sep.len() > budget {
            break;
        }
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&it);
        i += 1;
    }
    out
}

fn tiny_names(budget: usize, eq: bool, seed: u64) -> String {
    let mut r = Rng(seed | 1);
    fill(budget, "&", |_| {
        let n = 1 + r.below(3);
        let mut s: String = (0..n).map(|_| ALNUM[r.below(ALNUM.len())] as char).collect();
        if eq {
            s.push_str("=v");
        }
        s
    })
}

fn q(query: &str) -> String {
    format!("/p?{query}")
}

/// Budget for a query when the head has `other` bytes already.
fn qbudget(other: usize) -> usize {
    LIMIT - other - 200
}

/// Near misses of `name`: same first bytes, last byte differs, or one byte shorter/longer.
fn near_misses(name: &str, budget: usize, eq: bool) -> String {
    let b = name.as_bytes();
    fill(budget, "&", |i| {
        let mut s = b.to_vec();
        match i % 3 {
            0 => {
                let last = s.len() - 1;
                s[last] = b'~';
            }
            1 => {
                s.pop();
            }
            _ => s.push(b'x'),
        }
        let mut s = String::from_utf8(s).unwrap();
        if eq {
            s.push_str("=v");
        }
        s
    })
}

fn escapes(budget: usize, sep: &str) -> String {
    fill(budget, sep, |i| format!("%{:02X}", 0x41 + (i % 26)))
}

fn many_headers(n: usize, len: usize) -> Vec<(String, Vec<u8>)> {
    (0..n).map(|i| (format!("x-filler-{i}"), vec![b'v'; len.saturating_sub(12)])).collect()
}

fn with_headers(mut r: Req, hs: Vec<(String, Vec<u8>)>) -> Req {
    r.headers.extend(hs);
    r
}

fn xff(budget: usize, first: &str) -> String {
    let mut s = first.to_string();
    let mut i = 0u32;
    while s.len() + 17 < budget {
        s.push_str(&format!(", 10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255));
        i += 1;
    }
    s
}

fn cookies(budget: usize, item: impl FnMut(usize) -> String) -> String {
    fill(budget, "; ", item)
}

// ---------------------------------------------------------------- configs and cases

fn jwks() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read_to_string(format!("{root}/plugins/jwt-auth/tests/keys/jwks.json")).unwrap()
}

fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();
    let mut add = |label: &str, plugin: &'static str, config: &Value, req: Req| {
        v.push(Case { label: label.to_string(), plugin, config: config.clone(), req });
    };
    let big = qbudget(0);

    // ------------------------------------------------------------ key-auth
    let ka2 = json!({"keys": ["x-api-key", "apikey"], "in_header": true, "in_query": true,
        "consumers": [{"name": "c1", "credential": "k1"}]});
    let keys8: Vec<String> = ["x-api-key", "apikey", "api_key", "key", "token", "access_token", "x-token", "auth"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let ka8 = json!({"keys": keys8, "in_header": true, "in_query": true,
        "consumers": (0..50).map(|i| json!({"name": format!("c{i}"), "credential": format!("credential-{i:04}")})).collect::<Vec<_>>()});
    let keysx: Vec<String> = (0..8).map(|i| format!("x-key-{i}")).collect();
    let ka8x =
        json!({"keys": keysx, "in_header": true, "in_query": true, "consumers": [{"name": "c1", "credential": "k1"}]});
    let keys64: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
    let ka64 =
        json!({"keys": keys64, "in_header": true, "in_query": true, "consumers": [{"name": "c1", "credential": "k1"}]});
    let keys65: Vec<String> = (0..65).map(|i| format!("k{i}")).collect();
    let ka65 =
        json!({"keys": keys65, "in_header": true, "in_query": true, "consumers": [{"name": "c1", "credential": "k1"}]});
    for (cn, cfg) in [
        ("2 keys", &ka2),
        ("8 keys/50 consumers", &ka8),
        ("8 keys x-key-N", &ka8x),
        ("64 keys kN", &ka64),
        ("65 keys kN", &ka65),
    ] {
        add(
            &format!("key-auth {cn}: tiny names 1-3 B"),
            "key-auth",
            cfg,
            Req::new(q(&tiny_names(big, false, 7))).h("x-api-key", "k1"),
        );
        add(
            &format!("key-auth {cn}: tiny names =v"),
            "key-auth",
            cfg,
            Req::new(q(&tiny_names(big, true, 7))).h("x-api-key", "k1"),
        );
        add(
            &format!("key-auth {cn}: 'a&' x30000"),
            "key-auth",
            cfg,
            Req::new(q(&"a&".repeat(big / 2))).h("x-api-key", "k1"),
        );
        add(&format!("key-auth {cn}: 'k&' x30000"), "key-auth", cfg, Req::new(q(&"k&".repeat(big / 2))));
        add(&format!("key-auth {cn}: 'x&'"), "key-auth", cfg, Req::new(q(&"x&".repeat(big / 2))));
        add(&format!("key-auth {cn}: '%6B&' escapes as names"), "key-auth", cfg, Req::new(q(&"%6B&".repeat(big / 4))));
        add(&format!("key-auth {cn}: '%78&'"), "key-auth", cfg, Req::new(q(&"%78&".repeat(big / 4))));
        add(&format!("key-auth {cn}: '%6B=v&'"), "key-auth", cfg, Req::new(q(&"%6B=v&".repeat(big / 6))));
        add(
            &format!("key-auth {cn}: 'kz=v&' (a name's first byte, no name)"),
            "key-auth",
            cfg,
            Req::new(q(&"kz=v&".repeat(big / 5))),
        );
        add(
            &format!("key-auth {cn}: 'zzz=v&' (no name's first byte)"),
            "key-auth",
            cfg,
            Req::new(q(&"zzz=v&".repeat(big / 6))),
        );
        add(&format!("key-auth {cn}: '%7A=v&'"), "key-auth", cfg, Req::new(q(&"%7A=v&".repeat(big / 6))));
        add(&format!("key-auth {cn}: 'k%31=v&'"), "key-auth", cfg, Req::new(q(&"k%39%39=v&".repeat(big / 10))));
        add(&format!("key-auth {cn}: '+&'"), "key-auth", cfg, Req::new(q(&"+&".repeat(big / 2))));
        add(&format!("key-auth {cn}: '%&'"), "key-auth", cfg, Req::new(q(&"%&".repeat(big / 2))));
        add(
            &format!("key-auth {cn}: '%%%...=' one name"),
            "key-auth",
            cfg,
            Req::new(q(&format!("{}=v", "%".repeat(big)))),
        );
        add(&format!("key-auth {cn}: '%7%7..' pairs"), "key-auth", cfg, Req::new(q(&"%7&".repeat(big / 3))));
        add(&format!("key-auth {cn}: '%6B%6B...' one name"), "key-auth", cfg, Req::new(q(&"%6B".repeat(big / 3))));
        add(
            &format!("key-auth {cn}: near misses apikey"),
            "key-auth",
            cfg,
            Req::new(q(&near_misses("apikey", big, true))),
        );
        add(
            &format!("key-auth {cn}: near misses x-api-key"),
            "key-auth",
            cfg,
            Req::new(q(&near_misses("x-api-key", big, false))),
        );
        add(
            &format!("key-auth {cn}: near misses access_token"),
            "key-auth",
            cfg,
            Req::new(q(&near_misses("access_token", big, false))),
        );
        add(
            &format!("key-auth {cn}: near misses x-key-7"),
            "key-auth",
            cfg,
            Req::new(q(&near_misses("x-key-7", big, false))),
        );
        add(&format!("key-auth {cn}: near misses k6"), "key-auth", cfg, Req::new(q(&near_misses("k63", big, false))));
        add(
            &format!("key-auth {cn}: apikey=<60K %41>"),
            "key-auth",
            cfg,
            Req::new(q(&format!("apikey={}", escapes(big - 10, "")))),
        );
        add(
            &format!("key-auth {cn}: k1=<60K %41>"),
            "key-auth",
            cfg,
            Req::new(q(&format!("k1={}", escapes(big - 10, "")))),
        );
        add(
            &format!("key-auth {cn}: x-api-key: 60K header"),
            "key-auth",
            cfg,
            Req::new("/p").h("x-api-key", "a".repeat(big)),
        );
        add(
            &format!("key-auth {cn}: 600 headers"),
            "key-auth",
            cfg,
            with_headers(Req::new("/p").h("x-api-key", "k1"), many_headers(600, 80)),
        );
        add(
            &format!("key-auth {cn}: 'apikey=1&' repeated (multi key)"),
            "key-auth",
            cfg,
            Req::new(q(&"apikey=1&".repeat(big / 9))),
        );
        add(&format!("key-auth {cn}: 'apikey&' repeated"), "key-auth", cfg, Req::new(q(&"apikey&".repeat(big / 7))));
        add(&format!("key-auth {cn}: 'apikey=&' repeated"), "key-auth", cfg, Req::new(q(&"apikey=&".repeat(big / 8))));
        add(&format!("key-auth {cn}: 'k1&' repeated"), "key-auth", cfg, Req::new(q(&"k1&".repeat(big / 3))));
        add(&format!("key-auth {cn}: 'k1=&' repeated"), "key-auth", cfg, Req::new(q(&"k1=&".repeat(big / 4))));
        add(
            &format!("key-auth {cn}: 'api%6Bey&' repeated"),
            "key-auth",
            cfg,
            Req::new(q(&"api%6Bey&".repeat(big / 9))),
        );
        add(&format!("key-auth {cn}: 'k%31&' repeated"), "key-auth", cfg, Req::new(q(&"k%31&".repeat(big / 5))));
        add(
            &format!("key-auth {cn}: 'x-key-%37&' repeated"),
            "key-auth",
            cfg,
            Req::new(q(&"x-key-%37&".repeat(big / 10))),
        );
    }

    // ------------------------------------------------------------ basic-auth
    let ba = json!({"consumers": (0..50).map(|i| json!({"name": format!("c{i}"), "credential": format!("user{i}:password{i}")})).collect::<Vec<_>>()});
    let b64 = |n: usize| "QUFB".repeat(n / 4);
    add(
        "basic-auth: Basic <60K base64, no colon>",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("Basic {}", b64(big))),
    );
    add(
        "basic-auth: Basic <60K base64 of 'a:aaaa'>",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("Basic YTph{}", b64(big - 4))),
    );
    add(
        "basic-auth: Basic <60K spaces then b64>",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("Basic {}YTpi", " ".repeat(big))),
    );
    add(
        "basic-auth: <60K spaces> no space after",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("{}Basic", " ".repeat(big))),
    );
    add("basic-auth: 60K scheme without space", "basic-auth", &ba, Req::new("/").h("authorization", "B".repeat(big)));
    add(
        "basic-auth: Basic 60K invalid at end",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("Basic {}!", b64(big))),
    );
    add(
        "basic-auth: Basic non-ASCII 60K",
        "basic-auth",
        &ba,
        Req::new("/").h("authorization", format!("Basic {}", "é".repeat(big / 2))),
    );
    add(
        "basic-auth: Basic invalid utf8 60K",
        "basic-auth",
        &ba,
        Req::new("/").h_bytes_fix("authorization", {
            let mut b = b"Basic ".to_vec();
            b.extend(std::iter::repeat_n(0xffu8, big));
            b
        }),
    );
    add(
        "basic-auth: 600 headers",
        "basic-auth",
        &ba,
        with_headers(Req::new("/").h("authorization", "Basic dXNlcjE6cGFzc3dvcmQx"), many_headers(600, 80)),
    );

    // ------------------------------------------------------------ jwt-auth
    let jw = jwks();
    let consumers = |n: usize, f: &dyn Fn(usize) -> Value| -> Value {
        json!({"consumers": (0..n).map(|i| {
            let mut c = json!({"name": format!("c{i}"), "issuer": "bench", "jwks": jw});
            if let (Some(o), Value::Object(extra)) = (c.as_object_mut(), f(i)) { o.extend(extra); }
            c
        }).collect::<Vec<_>>()})
    };
    let j3 = consumers(3, &|_| json!({}));
    let small = json!({"keys": [{"kty": "oct", "kid": "hs", "k": "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"}]}).to_string();
    let j3s = json!({"consumers": (0..3).map(|i| json!({"name": format!("c{i}"), "issuer": "bench", "jwks": small,
        "from_headers": [{"name": "authorization", "value_prefix": "Bearer "}], "from_cookies": ["token", "jwt", "session"]})).collect::<Vec<_>>()});
    let j10 = consumers(10, &|_| json!({}));
    let j5p = consumers(5, &|i| json!({"from_params": [format!("token{i}"), format!("jwt{i}")]}));
    let j5c = consumers(5, &|i| json!({"from_cookies": [format!("token{i}"), format!("jwt{i}"), "session"]}));
    let j5all = consumers(5, &|i| {
        json!({
        "from_headers": [{"name": format!("x-jwt-{i}"), "value_prefix": "Bearer "}],
        "from_params": [format!("token{i}"), "access_token"],
        "from_cookies": [format!("token{i}"), "session"]})
    });
    let tiny_ck = |seed| {
        let mut r = Rng(seed);
        cookies(big, move |_| {
            let n = 1 + r.below(2);
            (0..n).map(|_| ALNUM[r.below(26)] as char).collect::<String>() + "="
        })
    };
    for (cn, cfg) in [
        ("3 small-jwks", &j3s),
        ("3 default", &j3),
        ("10 default", &j10),
        ("5 from_params", &j5p),
        ("5 from_cookies", &j5c),
        ("5 all sources", &j5all),
    ] {
        add(&format!("jwt-auth {cn}: tiny names"), "jwt-auth", cfg, Req::new(q(&tiny_names(big, false, 7))));
        add(&format!("jwt-auth {cn}: 'a&'"), "jwt-auth", cfg, Req::new(q(&"a&".repeat(big / 2))));
        add(&format!("jwt-auth {cn}: 't&'"), "jwt-auth", cfg, Req::new(q(&"t&".repeat(big / 2))));
        add(&format!("jwt-auth {cn}: '%74&'"), "jwt-auth", cfg, Req::new(q(&"%74&".repeat(big / 4))));
        add(
            &format!("jwt-auth {cn}: near misses access_token"),
            "jwt-auth",
            cfg,
            Req::new(q(&near_misses("access_token", big, true))),
        );
        add(
            &format!("jwt-auth {cn}: 'token1x=v'"),
            "jwt-auth",
            cfg,
            Req::new(q(&fill(big, "&", |_| "token1x=v".into()))),
        );
        add(
            &format!("jwt-auth {cn}: near misses token1"),
            "jwt-auth",
            cfg,
            Req::new(q(&near_misses("token1", big, false))),
        );
        add(
            &format!("jwt-auth {cn}: cookies 'a='"),
            "jwt-auth",
            cfg,
            Req::new("/").h("cookie", cookies(big, |_| "a=".into())),
        );
        add(&format!("jwt-auth {cn}: cookies ';' only"), "jwt-auth", cfg, Req::new("/").h("cookie", ";".repeat(big)));
        add(
            &format!("jwt-auth {cn}: cookies 'a' no '='"),
            "jwt-auth",
            cfg,
            Req::new("/").h("cookie", ";a".repeat(big / 2)),
        );
        add(&format!("jwt-auth {cn}: cookies tiny random"), "jwt-auth", cfg, Req::new("/").h("cookie", tiny_ck(99)));
        add(
            &format!("jwt-auth {cn}: cookies near 'token1x='"),
            "jwt-auth",
            cfg,
            Req::new("/").h("cookie", cookies(big, |_| "token1x=".into())),
        );
        add(
            &format!("jwt-auth {cn}: cookie spaces"),
            "jwt-auth",
            cfg,
            Req::new("/").h("cookie", format!("{}a", " ".repeat(big))),
        );
        add(
            &format!("jwt-auth {cn}: cookies + tiny names"),
            "jwt-auth",
            cfg,
            Req::new(q(&tiny_names(big / 2, false, 7))).h("cookie", cookies(big / 2, |_| "a=".into())),
        );
        add(
            &format!("jwt-auth {cn}: 600 headers"),
            "jwt-auth",
            cfg,
            with_headers(Req::new("/"), many_headers(600, 80)),
        );
        // Tokens that are parsed but fail before any crypto (no matching kid / bad alg).
        let hdr = |extra: usize| {
            use base64::Engine;
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let h = format!("{{\"alg\":\"RS256\",\"kid\":\"nope\",\"x\":\"{}\"}}", "a".repeat(extra));
            format!("{}.{}.{}", e.encode(h), e.encode("{}"), "A".repeat(10))
        };
        add(
            &format!("jwt-auth {cn}: Bearer 16K token bad kid"),
            "jwt-auth",
            cfg,
            Req::new("/").h("authorization", format!("Bearer {}", hdr(11_900))),
        );
        add(
            &format!("jwt-auth {cn}: Bearer 16K garbage"),
            "jwt-auth",
            cfg,
            Req::new("/").h("authorization", format!("Bearer {}", "a".repeat(16 * 1024))),
        );
        add(
            &format!("jwt-auth {cn}: access_token=16K bad kid"),
            "jwt-auth",
            cfg,
            Req::new(q(&format!("access_token={}", hdr(11_900)))),
        );
        add(
            &format!("jwt-auth {cn}: cookie token0=16K bad kid + tiny"),
            "jwt-auth",
            cfg,
            Req::new("/").h(
                "cookie",
                format!("{}; token0={}; session={}", cookies(big - 40_000, |_| "a=".into()), hdr(11_900), hdr(11_900)),
            ),
        );
        add(
            &format!("jwt-auth {cn}: x-jwt-0 Bearer 16K bad kid + params"),
            "jwt-auth",
            cfg,
            Req::new(q(&format!("access_token={}&{}", hdr(11_900), "t&".repeat(8000))))
                .h("x-jwt-0", format!("Bearer {}", hdr(11_900))),
        );
    }

    // ------------------------------------------------------------ hello-world
    let hw = json!({"header": "x-hello"});
    add("hello-world: tiny names", "hello-world", &hw, Req::new(q(&tiny_names(big, false, 7))));
    add("hello-world: 600 headers", "hello-world", &hw, with_headers(Req::new("/"), many_headers(600, 80)));
    add("hello-world: one 60K header", "hello-world", &hw, Req::new("/").h("x-a", "a".repeat(big)));
    let hws = json!({"header": "x-hello", "response_suffix": "!"});
    add(
        "hello-world suffix: 600 headers",
        "hello-world",
        &hws,
        with_headers(Req::new("/"), many_headers(600, 80)).resp("content-length", "10"),
    );

    // ------------------------------------------------------------ ip-restriction
    let ipd = json!({"ip_source_type": "header", "ip_header_name": "x-forwarded-for",
        "deny": (0..200).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).chain(["2001:db8::/32".to_string(), "192.168.0.0/16".into()]).collect::<Vec<_>>()});
    let ipa = json!({"ip_source_type": "header", "allow": ["1.2.3.4", "10.0.0.0/8", "::1", "2001:db8::/32"]});
    let ipr = json!({"ip_source_type": "header", "ip_header_name": "x-real-ip", "deny": ["1.2.3.4"]});
    for (cn, cfg) in [("deny 202", &ipd), ("allow 4", &ipa)] {
        add(
            &format!("ip-restriction {cn}: XFF thousands"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", xff(big, "1.2.3.4")),
        );
        add(
            &format!("ip-restriction {cn}: XFF 60K spaces"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", format!("{}1.2.3.4", " ".repeat(big))),
        );
        add(
            &format!("ip-restriction {cn}: XFF 60K digits"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", "1".repeat(big)),
        );
        add(
            &format!("ip-restriction {cn}: XFF 60K colons"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", ":".repeat(big)),
        );
        add(
            &format!("ip-restriction {cn}: XFF [ 60K"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", format!("[{}", ":".repeat(big))),
        );
        add(
            &format!("ip-restriction {cn}: XFF %zone 60K"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", format!("fe80::1%{}", "a".repeat(big))),
        );
        add(
            &format!("ip-restriction {cn}: XFF non-ascii 60K"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", format!("{}1", "é".repeat(big / 2))),
        );
        add(
            &format!("ip-restriction {cn}: XFF 1.2.3.4:<60K digits>"),
            "ip-restriction",
            cfg,
            Req::new("/").h("x-forwarded-for", format!("1.2.3.4:{}", "0".repeat(big))),
        );
        add(
            &format!("ip-restriction {cn}: 600 headers + XFF"),
            "ip-restriction",
            cfg,
            with_headers(Req::new("/"), many_headers(600, 80)).h("x-forwarded-for", "10.0.0.1"),
        );
        add(
            &format!("ip-restriction {cn}: 600 XFF headers"),
            "ip-restriction",
            cfg,
            with_headers(
                Req::new("/"),
                (0..600)
                    .map(|i| {
                        (
                            "x-forwarded-for".to_string(),
                            format!("10.0.{}.{}, {}", i / 256, i % 256, "1".repeat(50)).into_bytes(),
                        )
                    })
                    .collect(),
            ),
        );
    }
    add("ip-restriction x-real-ip: 60K", "ip-restriction", &ipr, Req::new("/").h("x-real-ip", "1".repeat(big)));

    // ------------------------------------------------------------ request-block
    let rb_words = json!({"block_urls": ["swagger.html", "/admin", "phpmyadmin", ".env", "wp-login", "../", "select%20", "union"],
        "block_exact_urls": ["/info", "/private"], "block_headers": ["example-key", "sqlmap", "nikto"], "case_sensitive": false});
    let rb_re = json!({"block_regexp_urls": [r"\.php$", r"^/admin/.*", r"(?i)select.+from", r"/v\d+/internal/", r".*\.(bak|old|swp)$", r"[?&]debug=(1|true)"], "case_sensitive": false});
    let rb_re_cs = json!({"block_regexp_urls": [r"\.php$", r"^/admin/.*", r"(?i)select.+from", r"/v\d+/internal/", r".*\.(bak|old|swp)$", r"[?&]debug=(1|true)"], "case_sensitive": true});
    let rb_re1 = json!({"block_regexp_urls": [r"\.php$"], "case_sensitive": true});
    let rb_all = json!({"block_urls": ["swagger.html", "/admin", "phpmyadmin"], "block_exact_urls": ["/info"],
        "block_regexp_urls": [r"\.php$", r"(?i)select.+from", r"/v\d+/internal/"], "block_headers": ["example-key", "sqlmap"], "case_sensitive": false});
    for (cn, cfg) in [
        ("words", &rb_words),
        ("6 regex fold", &rb_re),
        ("6 regex case-sensitive", &rb_re_cs),
        ("1 regex", &rb_re1),
        ("all lists", &rb_all),
    ] {
        add(
            &format!("request-block {cn}: 60K path 'a'"),
            "request-block",
            cfg,
            Req::new(format!("/{}", "a".repeat(big))),
        );
        add(&format!("request-block {cn}: 60K path '/'"), "request-block", cfg, Req::new("/".repeat(big)));
        add(
            &format!("request-block {cn}: 60K path '.'"),
            "request-block",
            cfg,
            Req::new(format!("/{}", ".".repeat(big))),
        );
        add(
            &format!("request-block {cn}: 60K path 'select'"),
            "request-block",
            cfg,
            Req::new(format!("/{}", "select".repeat(big / 6))),
        );
        add(&format!("request-block {cn}: 60K path '/v1'"), "request-block", cfg, Req::new("/v1".repeat(big / 3)));
        add(
            &format!("request-block {cn}: 60K path '/v1/internal' near"),
            "request-block",
            cfg,
            Req::new("/v1/interna".repeat(big / 11)),
        );
        add(&format!("request-block {cn}: tiny query"), "request-block", cfg, Req::new(q(&tiny_names(big, true, 7))));
        add(
            &format!("request-block {cn}: uppercase path"),
            "request-block",
            cfg,
            Req::new(format!("/{}", "SELECTA".repeat(big / 7))),
        );
        add(
            &format!("request-block {cn}: non-ASCII path"),
            "request-block",
            cfg,
            Req::new(format!("/{}", "É".repeat(big / 2))),
        );
        add(
            &format!("request-block {cn}: non-ASCII path Σ"),
            "request-block",
            cfg,
            Req::new(format!("/{}", "Σ".repeat(big / 2))),
        );
        add(&format!("request-block {cn}: invalid utf8 path"), "request-block", cfg, {
            let mut r = Req::new("/");
            r.path = String::new();
            r.h_path_bytes(std::iter::once(b'/').chain(std::iter::repeat_n(0xC3u8, big)).collect())
        });
        add(
            &format!("request-block {cn}: 600 headers"),
            "request-block",
            cfg,
            with_headers(Req::new("/"), many_headers(600, 80)),
        );
        add(
            &format!("request-block {cn}: 600 headers uppercase"),
            "request-block",
            cfg,
            with_headers(
                Req::new("/"),
                (0..600).map(|i| (format!("x-filler-{i}"), "EXAMPLE-KE".repeat(7).into_bytes())).collect(),
            ),
        );
        add(
            &format!("request-block {cn}: one 60K header non-ASCII"),
            "request-block",
            cfg,
            Req::new("/").h("x-a", "É".repeat(big / 2)),
        );
        add(
            &format!("request-block {cn}: 600 headers non-ASCII"),
            "request-block",
            cfg,
            with_headers(
                Req::new("/"),
                (0..600).map(|i| (format!("x-filler-{i}"), "É".repeat(34).into_bytes())).collect(),
            ),
        );
        add(
            &format!("request-block {cn}: 3000 tiny headers"),
            "request-block",
            cfg,
            with_headers(Req::new("/"), (0..3000).map(|i| (format!("x{i}"), b"v".to_vec())).collect()),
        );
    }

    // ------------------------------------------------------------ cors
    let cors_pat = json!({"allow_origin_patterns": ["https://*.example.com", "http://*.example.org:[8080,9090]", "http://*.example.net:[*]",
        "https://*.*.example.io", "https://*-dev.*.example.cn", "http://*.a.*.b.*.c"],
        "allow_credentials": true, "allow_headers": ["DNT", "X-CustomHeader", "Keep-Alive", "User-Agent", "X-Requested-With", "If-Modified-Since", "Cache-Control", "Content-Type", "Authorization"]});
    let cors_any = json!({"allow_origins": ["*"], "allow_headers": ["*"], "allow_methods": ["*"]});
    let origins: Vec<String> = (0..50).map(|i| format!("https://site{i}.example.com")).collect();
    let cors_list = json!({"allow_origins": origins, "allow_credentials": true});
    for (cn, cfg) in [("6 patterns", &cors_pat), ("any", &cors_any), ("50 origins", &cors_list)] {
        for (sn, origin) in [
            ("http://aaa..", format!("http://{}", "a".repeat(big))),
            ("https://aaa..", format!("https://{}", "a".repeat(big))),
            ("https://..dots", format!("https://{}", ".".repeat(big))),
            ("https://-.-.", format!("https://{}", "-.".repeat(big / 2))),
            ("http://.a.", format!("http://{}", ".a.".repeat(big / 3))),
            ("https://.example.c", format!("https://{}", ".example.c".repeat(big / 10))),
            ("https://x.example.com:port", format!("https://{}.example.com:8080", "x".repeat(big))),
            ("60K spaces", format!("{}https://a.b", " ".repeat(big))),
            ("http://aaaa:9090", format!("http://{}:9090", "a".repeat(big))),
        ] {
            add(&format!("cors {cn}: origin {sn}"), "cors", cfg, Req::new("/").h("origin", &origin));
            add(
                &format!("cors {cn}: preflight origin {sn}"),
                "cors",
                cfg,
                Req::new("/").method("OPTIONS").h("origin", &origin).h("access-control-request-method", "GET"),
            );
        }
        add(
            &format!("cors {cn}: preflight 60K req-headers 'Authorization,'"),
            "cors",
            cfg,
            Req::new("/")
                .method("OPTIONS")
                .h("origin", "https://site1.example.com")
                .h("access-control-request-method", "GET")
                .h("access-control-request-headers", "Authorization,".repeat(big / 14)),
        );
        add(
            &format!("cors {cn}: preflight 60K req-headers 'a,'"),
            "cors",
            cfg,
            Req::new("/")
                .method("OPTIONS")
                .h("origin", "https://site1.example.com")
                .h("access-control-request-method", "GET")
                .h("access-control-request-headers", "a,".repeat(big / 2)),
        );
        add(
            &format!("cors {cn}: preflight 60K req-headers ' ,'"),
            "cors",
            cfg,
            Req::new("/")
                .method("OPTIONS")
                .h("origin", "https://site1.example.com")
                .h("access-control-request-method", "GET")
                .h("access-control-request-headers", " ,".repeat(big / 2)),
        );
        add(
            &format!("cors {cn}: preflight 60K req-headers 'cache-control,'"),
            "cors",
            cfg,
            Req::new("/")
                .method("OPTIONS")
                .h("origin", "https://site1.example.com")
                .h("access-control-request-method", "GET")
                .h("access-control-request-headers", "cache-control,".repeat(big / 14)),
        );
        add(
            &format!("cors {cn}: preflight 60K method"),
            "cors",
            cfg,
            Req::new("/")
                .method("OPTIONS")
                .h("origin", "https://site1.example.com")
                .h("access-control-request-method", "G".repeat(big)),
        );
        add(&format!("cors {cn}: actual, 600 vary response headers"), "cors", cfg, {
            let mut r = Req::new("/").h("origin", "https://site1.example.com");
            for i in 0..600 {
                r = r.resp(if i == 0 { "vary" } else { "x-r" }, &"Accept-Encoding, ".repeat(4));
            }
            r
        });
        add(
            &format!("cors {cn}: actual, 60K vary"),
            "cors",
            cfg,
            Req::new("/").h("origin", "https://site1.example.com").resp("vary", &"a,".repeat(big / 2)),
        );
    }

    // ------------------------------------------------------------ custom-response
    let cr = json!({"status_code": 200, "headers": ["content-type=application/json"], "body": "{\"hello\":\"world\"}"});
    let cr_on = json!({"rules": [{"enable_on_status": ["4xx", "5xx", "404"], "status_code": 200, "body": "x"}]});
    add(
        "custom-response always: 600 headers",
        "custom-response",
        &cr,
        with_headers(Req::new("/"), many_headers(600, 80)),
    );
    add("custom-response always: tiny query", "custom-response", &cr, Req::new(q(&tiny_names(big, false, 7))));
    add("custom-response on_status: 600 response headers", "custom-response", &cr_on, {
        let mut r = with_headers(Req::new("/"), many_headers(600, 80));
        r.response = vec![(":status".into(), "404".into())];
        for i in 0..600 {
            r = r.resp(&format!("x-r{i}"), &"v".repeat(80));
        }
        r
    });

    // ------------------------------------------------------------ transformer
    let tq = json!({"reqRules": [
        {"operate": "remove", "headers": [{"key": "x-remove"}], "querys": [{"key": "debug"}, {"key": "a"}]},
        {"operate": "rename", "headers": [{"oldKey": "x-filler-1", "newKey": "x-renamed"}], "querys": [{"oldKey": "b", "newKey": "bb"}]},
        {"operate": "replace", "querys": [{"key": "c", "newValue": "1"}]},
        {"operate": "add", "headers": [{"key": "x-from-path", "value": "p-$1", "path_pattern": "^/(\\w+)/.*$"}], "querys": [{"key": "added", "value": "1"}]},
        {"operate": "append", "querys": [{"key": "a", "appendValue": "2"}], "headers": [{"key": "x-filler-2", "appendValue": "2"}]},
        {"operate": "map", "headers": [{"fromKey": "x-filler-3", "toKey": "x-mapped"}]},
        {"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "a", "toKey": "x-a"}]},
        {"operate": "map", "mapSource": "headers", "querys": [{"fromKey": "x-filler-4", "toKey": "fh"}]},
        {"operate": "dedupe", "headers": [{"key": "x-dup", "strategy": "RETAIN_UNIQUE"}], "querys": [{"key": "a", "strategy": "RETAIN_UNIQUE"}]}
    ]});
    let tre = json!({"reqRules": [
        {"operate": "add", "headers": (0..8).map(|i| json!({"key": format!("x-p{i}"), "value": "v-$1", "path_pattern": "^/api/(\\w+)/(.*)\\.json$"})).collect::<Vec<_>>()},
        {"operate": "replace", "headers": [{"key": "x-r", "newValue": "$1$1$1", "path_pattern": "(a)"}]}
    ]});
    let tone = json!({"reqRules": [
        {"operate": "add", "headers": [{"key": "x-p", "value": "v-$1", "path_pattern": "^/api/(\\w+)/(.*)\\.json$"}]}
    ]});
    let tdedupe = json!({"reqRules": [
        {"operate": "dedupe", "headers": [{"key": "x-dup", "strategy": "RETAIN_UNIQUE"}, {"key": "x-dup2", "strategy": "RETAIN_LAST"}], "querys": [{"key": "a", "strategy": "RETAIN_UNIQUE"}]},
        {"operate": "rename", "headers": [{"oldKey": "x-dup", "newKey": "x-d"}], "querys": [{"oldKey": "a", "newKey": "b"}]},
        {"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "b", "toKey": "x-b"}]}
    ]});
    let tresp = json!({"respRules": [
        {"operate": "remove", "headers": [{"key": "server"}]},
        {"operate": "rename", "headers": [{"oldKey": "x-r1", "newKey": "x-renamed"}]},
        {"operate": "dedupe", "headers": [{"key": "x-r", "strategy": "RETAIN_UNIQUE"}]},
        {"operate": "add", "headers": [{"key": "x-from-path", "value": "$1", "path_pattern": "(a+)"}]}
    ]});
    for (cn, cfg) in [
        ("9 rules", &tq),
        ("9 path_pattern", &tre),
        ("1 path_pattern", &tone),
        ("dedupe/rename", &tdedupe),
        ("resp", &tresp),
    ] {
        add(&format!("transformer {cn}: tiny names"), "transformer", cfg, Req::new(q(&tiny_names(big, false, 7))));
        add(&format!("transformer {cn}: tiny names =v"), "transformer", cfg, Req::new(q(&tiny_names(big, true, 7))));
        add(&format!("transformer {cn}: 'a&'"), "transformer", cfg, Req::new(q(&"a&".repeat(big / 2))));
        add(
            &format!("transformer {cn}: 'a=N&' unique"),
            "transformer",
            cfg,
            Req::new(q(&fill(big, "&", |i| format!("a={i}")))),
        );
        add(&format!("transformer {cn}: '%41&'"), "transformer", cfg, Req::new(q(&"%41&".repeat(big / 4))));
        add(
            &format!("transformer {cn}: 'a=%41..' huge"),
            "transformer",
            cfg,
            Req::new(q(&format!("a={}", escapes(big - 3, "")))),
        );
        add(&format!("transformer {cn}: '+&'"), "transformer", cfg, Req::new(q(&"+&".repeat(big / 2))));
        add(
            &format!("transformer {cn}: 600 headers"),
            "transformer",
            cfg,
            with_headers(Req::new("/"), many_headers(600, 80)),
        );
        add(
            &format!("transformer {cn}: 600 x-dup unique"),
            "transformer",
            cfg,
            with_headers(
                Req::new("/"),
                (0..600).map(|i| ("x-dup".to_string(), format!("{i:0>70}").into_bytes())).collect(),
            ),
        );
        add(
            &format!("transformer {cn}: 3000 x-dup tiny"),
            "transformer",
            cfg,
            with_headers(
                Req::new("/"),
                (0..3000).map(|i| ("x-dup".to_string(), format!("{i}").into_bytes())).collect(),
            ),
        );
        add(&format!("transformer {cn}: 60K path 'a'"), "transformer", cfg, Req::new(format!("/{}", "a".repeat(big))));
        add(
            &format!("transformer {cn}: 60K path '/api/x/'"),
            "transformer",
            cfg,
            Req::new(format!("/api/{}.json", "x/".repeat(big / 2))),
        );
        add(
            &format!("transformer {cn}: 60K path 'a/'"),
            "transformer",
            cfg,
            Req::new(format!("/{}", "a/".repeat(big / 2))),
        );
        add(&format!("transformer {cn}: 600 response headers"), "transformer", cfg, {
            let mut r = Req::new("/a");
            for i in 0..600 {
                r = r.resp(if i % 2 == 0 { "x-r" } else { "x-r1" }, &format!("{i:0>70}"));
            }
            r
        });
    }

    // ------------------------------------------------------------ key-rate-limit (local buckets)
    let krl_h = json!({"limit_by_header": "x-ca-key", "limit_keys": [{"key": "k1", "query_per_second": 1000000}, {"key": "k2", "query_per_day": 1000}]});
    let krl_p = json!({"limit_by_param": "apikey", "limit_keys": [{"key": "k1", "query_per_second": 1000000}]});
    add("key-rate-limit header: 60K key", "key-rate-limit", &krl_h, Req::new("/").h("x-ca-key", "k".repeat(big)));
    add(
        "key-rate-limit header: 600 headers",
        "key-rate-limit",
        &krl_h,
        with_headers(Req::new("/").h("x-ca-key", "k1"), many_headers(600, 80)),
    );
    add("key-rate-limit param: tiny names", "key-rate-limit", &krl_p, Req::new(q(&tiny_names(big, false, 7))));
    add("key-rate-limit param: 'a&'", "key-rate-limit", &krl_p, Req::new(q(&"a&".repeat(big / 2))));
    add("key-rate-limit param: near misses", "key-rate-limit", &krl_p, Req::new(q(&near_misses("apikey", big, true))));
    add("key-rate-limit param: '%61&'", "key-rate-limit", &krl_p, Req::new(q(&"%61&".repeat(big / 4))));
    add(
        "key-rate-limit param: apikey=<%41 60K>",
        "key-rate-limit",
        &krl_p,
        Req::new(q(&format!("apikey={}", escapes(big - 8, "")))),
    );
    v
}

trait ReqExt {
    fn h_bytes_fix(self, k: &str, v: Vec<u8>) -> Req;
    fn h_path_bytes(self, p: Vec<u8>) -> Req;
}
impl ReqExt for Req {
    fn h_bytes_fix(mut self, k: &str, v: Vec<u8>) -> Req {
        self.headers.push((k.into(), v));
        self
    }
    /// Stores raw path bytes in a pseudo header `:path-bytes` read by `map`.
    fn h_path_bytes(mut self, p: Vec<u8>) -> Req {
        self.headers.push((":path-bytes".into(), p));
        self
    }
}

fn req_map(req: &Req) -> HeaderMap {
    // A raw (non-UTF-8) path replaces `:path`.
    if let Some((_, raw)) = req.headers.iter().find(|(k, _)| k == ":path-bytes") {
        let mut h = HeaderMap::new();
        h.add(b":authority", req.authority.as_bytes());
        h.add(b":path", raw);
        h.add(b":method", req.method.as_bytes());
        h.add(b":scheme", b"http");
        for (k, v) in req.headers.iter().filter(|(k, _)| k != ":path-bytes") {
            h.add(k.as_bytes(), v);
        }
        return h;
    }
    req.map()
}

fn run_case(vm: &Vm, req: &Req) -> (u64, String) {
    let s = vm.stream();
    let r = s.send_request_headers(req_map(req), true);
    let mut outcome = match &r {
        Err(e) => format!("trap {}", e.to_string().lines().next().unwrap_or_default()),
        Ok(_) => String::new(),
    };
    if let Some(l) = s.local_response() {
        outcome = format!("local {}", l.status);
    } else if r.is_ok() {
        let _ = s.send_response_headers(req.resp_map(), true);
        outcome = "passed".into();
    }
    let calls: Vec<String> = s
        .calls()
        .iter()
        .map(|c| format!("{}={}", c.callback.trim_start_matches("proxy_on_"), c.instructions))
        .collect();
    (s.instructions(), format!("{outcome} [{}]", calls.join(" ")))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("profile") => profile(
            &args[1],
            args.get(2).and_then(|d| d.parse().ok()).unwrap_or(3),
            args.get(3).and_then(|d| d.parse().ok()),
        ),
        Some("random") => random(&args[1], args.get(2).and_then(|d| d.parse().ok()).unwrap_or(200)),
        filter => {
            let filter = filter.unwrap_or("");
            let mut plugins: BTreeMap<&str, Plugin> = BTreeMap::new();
            let mut best: BTreeMap<&str, (u64, String)> = BTreeMap::new();
            for c in cases().into_iter().filter(|c| c.label.contains(filter)) {
                assert!(c.req.head_bytes() <= LIMIT, "{}: {} bytes", c.label, c.req.head_bytes());
                let plugin = plugins.entry(c.plugin).or_insert_with(|| load(c.plugin, false)).clone();
                let vm = start(&plugin, &c.config, None);
                let _ = run_case(&vm, &Req::new("/warm"));
                let (n, outcome) = run_case(&vm, &c.req);
                println!("{n:>11} | {} | {} | {outcome}", c.label, c.req.shape());
                let e = best.entry(c.plugin).or_default();
                if n > e.0 {
                    *e = (n, c.label.clone());
                }
            }
            println!("\nmax per plugin:");
            for (p, (n, l)) in best {
                println!("{n:>11} {p}: {l}");
            }
        }
    }
}

// ---------------------------------------------------------------- random search

fn random_req(r: &mut Rng, names: &[&str]) -> Req {
    let budget = qbudget(0);
    let pick = |r: &mut Rng| names[r.below(names.len())].to_string();
    // Query: a mix of pieces.
    let qshare = [0, budget / 2, budget][r.below(3)];
    let mut query = String::new();
    while query.len() + 40 < qshare {
        let piece = match r.below(10) {
            0 => (0..1 + r.below(3)).map(|_| ALNUM[r.below(ALNUM.len())] as char).collect::<String>(),
            1 => format!("{}=v", (0..1 + r.below(2)).map(|_| ALNUM[r.below(ALNUM.len())] as char).collect::<String>()),
            2 => {
                let n = pick(r);
                let mut b = n.into_bytes();
                let i = r.below(b.len());
                b[i] = b'~';
                String::from_utf8(b).unwrap()
            }
            3 => format!("%{:02X}", r.below(256)),
            4 => "+".into(),
            5 => pick(r),
            6 => format!("{}=", pick(r)),
            7 => {
                let n = pick(r);
                format!("{}%{:02X}", &n[..n.len() - 1], n.as_bytes()[n.len() - 1])
            }
            8 => String::new(),
            _ => "%".into(),
        };
        query.push_str(&piece);
        query.push('&');
    }
    let mut req = Req::new(if query.is_empty() { "/p".to_string() } else { format!("/p?{query}") });
    let left = LIMIT - req.head_bytes() - 300;
    match r.below(5) {
        0 => {
            let n = (left / 90).min(600);
            req = with_headers(req, many_headers(n, 80));
        }
        1 => {
            let mut c = String::new();
            while c.len() + 20 < left {
                match r.below(4) {
                    0 => c.push_str("a="),
                    1 => c.push_str(&pick(r)),
                    2 => c.push_str(&format!("{}x=", pick(r))),
                    _ => c.push(' '),
                }
                c.push(';');
            }
            req = req.h("cookie", c);
        }
        2 => req = req.h("x-forwarded-for", xff(left, "1.2.3.4")),
        3 => req = req.h(names[r.below(names.len())], "a".repeat(left)),
        _ => {}
    }
    req
}

fn random(plugin_name: &str, n: usize) {
    let all = cases();
    let configs: Vec<Value> = {
        let mut seen = Vec::new();
        for c in all.iter().filter(|c| c.plugin == plugin_name) {
            if !seen.contains(&c.config) {
                seen.push(c.config.clone());
            }
        }
        seen
    };
    let plugin_static: &'static str = all.iter().find(|c| c.plugin == plugin_name).map(|c| c.plugin).expect("plugin");
    let plugin = load(plugin_static, false);
    let names = [
        "apikey",
        "x-api-key",
        "access_token",
        "token0",
        "token1",
        "jwt2",
        "session",
        "k63",
        "x-key-7",
        "a",
        "b",
        "debug",
        "x-dup",
    ];
    let mut r = Rng(0x1234_5678_9abc_def1);
    let mut best = (0, String::new());
    for (ci, cfg) in configs.iter().enumerate() {
        let vm = start(&plugin, cfg, None);
        for _ in 0..n {
            let req = random_req(&mut r, &names);
            if req.head_bytes() > LIMIT {
                continue;
            }
            let (k, outcome) = run_case(&vm, &req);
            if k > best.0 {
                best = (k, format!("config #{ci}: {} -> {outcome}; path {:.120}", req.shape(), req.path));
                println!("{k:>11} {}", best.1);
            }
        }
    }
}

// ---------------------------------------------------------------- profile

fn profile(label: &str, depth: usize, step: Option<u64>) {
    let case = cases().into_iter().find(|c| c.label.contains(label)).expect("no such case");
    let plugin = load(case.plugin, std::env::var("OPT").is_err());
    let vm = start(&plugin, &case.config, None);
    let _ = run_case(&vm, &Req::new("/warm"));
    let (total, outcome) = run_case(&vm, &case.req);
    eprintln!("{}: total {total} {outcome}", case.label);
    let step = step
        .unwrap_or((total / std::env::var("SAMPLES").ok().and_then(|s| s.parse().ok()).unwrap_or(150u64)).max(1000));
    let mut hist: BTreeMap<String, u64> = BTreeMap::new();
    let mut f = step;
    while f < total {
        let env = Env::with_manual_clock(Duration::from_secs(1_700_000_000));
        let Ok(vm) = Vm::builder(&plugin).env(&env).config_json(&case.config).start() else {
            *hist.entry("(config start failed)".into()).or_default() += step;
            f += step;
            continue;
        };
        let _ = run_case(&vm, &Req::new("/warm"));
        vm.set_fuel_per_call(f);
        let s = vm.stream();
        let r = s.send_request_headers(req_map(&case.req), true);
        if r.is_ok() && s.local_response().is_none() {
            let _ = s.send_response_headers(case.req.resp_map(), true);
        }
        std::mem::forget(s);
        let msg = vm.failure().unwrap_or_default();
        let frames: Vec<String> =
            msg.lines().filter_map(|l| l.split_once(".wasm!").map(|(_, n)| n.trim().to_string())).take(depth).collect();
        *hist.entry(if frames.is_empty() { "(no trap)".into() } else { frames.join(" < ") }).or_default() += step;
        f += step;
    }
    let mut v: Vec<_> = hist.into_iter().collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.1));
    for (k, n) in v.into_iter().take(25) {
        println!("{n:>10} {:>5.1}% {k}", 100.0 * n as f64 / total as f64);
    }
}
