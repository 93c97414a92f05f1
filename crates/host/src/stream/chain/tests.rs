//! Envoy's filter-chain rules, table-driven, on scripted fake filters (no wasm): what each
//! filter sees, in which order, and what reaches the upstream and the client.

use super::*;
use crate::stream::state::{CallStats, Message, StreamState};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Weak;

#[test]
fn conversions_follow_cpp_host() {
    assert_eq!(convert_headers(1, Dir::Request, Abi::V0_2_100, false), Action::StopIteration);
    assert_eq!(convert_headers(1, Dir::Request, Abi::V0_2_1, false), Action::StopAllIterationAndWatermark);
    assert_eq!(convert_headers(1, Dir::Response, Abi::V0_2_100, false), Action::StopAllIterationAndWatermark);
    assert_eq!(convert_headers(0, Dir::Request, Abi::V0_2_100, true), Action::StopAllIterationAndWatermark);
    assert_eq!(convert_headers(9, Dir::Request, Abi::V0_2_100, false), Action::StopAllIterationAndWatermark);
    assert_eq!(convert_headers(3, Dir::Request, Abi::V0_2_100, false), Action::StopAllIterationAndBuffer);
    assert_eq!(convert_data(1, false), Action::StopIterationAndBuffer);
    assert_eq!(convert_data(0, true), Action::StopIterationNoBuffer);
    assert_eq!(convert_data(7, false), Action::StopIterationNoBuffer);
    assert_eq!(convert_trailers(0, false), Action::Continue);
    assert_eq!(convert_trailers(5, false), Action::StopIteration);
}

/// What a fake filter does in one callback.
#[derive(Clone, Copy)]
enum Step {
    /// Return this action.
    Act(Action),
    /// Answer locally with this status (body `denied`), as `proxy_send_local_response` does.
    Reply(u32),
}

use Step::{Act, Reply};
const GO: Step = Act(Action::Continue);
const STOP: Step = Act(Action::StopIteration);
const ALL: Step = Act(Action::StopAllIterationAndWatermark);
const END: Step = Act(Action::ContinueAndEndStream);
const BUF: Step = Act(Action::StopIterationAndBuffer);
const NOBUF: Step = Act(Action::StopIterationNoBuffer);

/// A filter that follows a script: per callback (`rqH`, `rqD`, `rqT`, `rsH`, `rsD`, `rsT`),
/// the steps to take in turn (then `Continue`). It records what it was called with.
struct Fake {
    index: usize,
    script: RefCell<HashMap<&'static str, VecDeque<Step>>>,
    stream: RefCell<Weak<RefCell<StreamState>>>,
    seen: Rc<RefCell<Vec<String>>>,
}

impl Fake {
    fn step(&self, key: &'static str, seen: String) -> Result<Called, HostError> {
        self.seen.borrow_mut().push(seen);
        let step = self.script.borrow_mut().get_mut(key).and_then(|steps| steps.pop_front()).unwrap_or(GO);
        let (action, stop_next) = match step {
            Act(action) => (action, false),
            Reply(status) => {
                let reply = LocalResponse {
                    status,
                    headers: HeaderMap::new(),
                    body: b"denied".to_vec(),
                    details: "fake.reply".into(),
                    grpc_status: None,
                    filter: self.index,
                };
                if let Some(stream) = self.stream.borrow().upgrade() {
                    stream.borrow_mut().deferred.push((self.index, Deferred::LocalReply(reply)));
                }
                let stop = if key.ends_with('D') {
                    Action::StopIterationNoBuffer
                } else {
                    Action::StopAllIterationAndWatermark
                };
                (stop, true)
            }
        };
        let stats = CallStats { callback: key, context_id: 1, instructions: 0, memory_bytes: 0 };
        Ok(Called { action, stats, touched: Vec::new(), stop_next })
    }
}

fn key(dir: Dir, request: &'static str, response: &'static str) -> &'static str {
    if dir == Dir::Request {
        request
    } else {
        response
    }
}

impl FilterVm for Fake {
    fn name(&self) -> String {
        format!("fake-{}", self.index)
    }
    fn is_failed(&self) -> bool {
        false
    }
    fn create_context(
        &self,
        stream: Weak<RefCell<StreamState>>,
        _filter: usize,
    ) -> Result<(u32, CallStats), HostError> {
        *self.stream.borrow_mut() = stream;
        Ok((1, CallStats { callback: "proxy_on_context_create", context_id: 1, instructions: 0, memory_bytes: 0 }))
    }
    fn release_context(&self, _ctx: u32) {}
    fn on_headers(&self, dir: Dir, _ctx: u32, eos: bool) -> Result<Called, HostError> {
        let k = key(dir, "rqH", "rsH");
        self.step(k, format!("{}:{k}{}", self.index, if eos { "!" } else { "" }))
    }
    fn on_body(&self, dir: Dir, _ctx: u32, size: usize, eos: bool) -> Result<Called, HostError> {
        let k = key(dir, "rqD", "rsD");
        self.step(k, format!("{}:{k}({size}{})", self.index, if eos { "!" } else { "" }))
    }
    fn on_trailers(&self, dir: Dir, _ctx: u32) -> Result<Called, HostError> {
        let k = key(dir, "rqT", "rsT");
        self.step(k, format!("{}:{k}", self.index))
    }
    fn on_log(&self, _ctx: u32) -> Result<Called, HostError> {
        self.step("log", format!("{}:log", self.index))
    }
    fn on_done(&self, _ctx: u32) -> Result<Called, HostError> {
        self.step("done", format!("{}:done", self.index))
    }
    fn on_delete(&self, _ctx: u32) -> Result<Called, HostError> {
        self.step("delete", format!("{}:delete", self.index))
    }
}

/// What the client, the upstream or a filter's pending callout does next.
#[derive(Clone, Copy)]
enum Input {
    ReqHeaders(bool),
    ReqData(&'static str, bool),
    ReqTrailers,
    RespHeaders(bool),
    RespData(&'static str, bool),
    RespTrailers,
    /// `proxy_continue_stream` from filter `.0`, outside any callback (a callout answered).
    Resume(usize, Dir),
}

use Input::{ReqData, ReqHeaders, ReqTrailers, RespData, RespHeaders, RespTrailers, Resume};

struct Case {
    name: &'static str,
    /// Per filter, in request order: `(callback, steps)`.
    filters: &'static [&'static [(&'static str, &'static [Step])]],
    input: &'static [Input],
    /// What each filter saw, in order (`1:rqD(3!)`: filter 1, request body, 3 bytes, end).
    seen: &'static str,
    /// What reached the upstream (`H` headers, `D:ab` data, `T` trailers, `!` end, `X` reset).
    upstream: &'static str,
    /// What reached the client.
    downstream: &'static str,
}

fn render(events: &[OutEvent]) -> String {
    let end = |eos: &bool| if *eos { "!" } else { "" };
    events
        .iter()
        .map(|e| match e {
            OutEvent::Headers(_, eos) => format!("H{}", end(eos)),
            OutEvent::Data(bytes, eos) => format!("D:{}{}", String::from_utf8_lossy(bytes), end(eos)),
            OutEvent::Trailers(_) => "T".to_string(),
            OutEvent::Reset => "X".to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run(case: &Case) -> (String, String, String) {
    run_keeping(case, true).0
}

/// Runs `case`, keeping the messages or not; also returns the messages as they ended.
fn run_keeping(case: &Case, keep: bool) -> ((String, String, String), [Message; 2]) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let filters = case.filters.iter().enumerate().map(|(index, script)| {
        let script = script.iter().map(|(k, steps)| (*k, steps.iter().copied().collect())).collect();
        let fake = Fake { index, script: RefCell::new(script), stream: RefCell::new(Weak::new()), seen: seen.clone() };
        super::super::Filter::from_port(Rc::new(fake))
    });
    let stream = super::super::Stream::new(filters);
    stream.keep_messages(keep);
    for input in case.input {
        let headers = || HeaderMap::from([(":status", "200"), (":path", "/")]);
        let _ = match *input {
            ReqHeaders(eos) => stream.send_request_headers(headers(), eos),
            ReqData(data, eos) => stream.send_request_body(data, eos),
            ReqTrailers => stream.send_request_trailers(HeaderMap::from([("t", "1")])),
            RespHeaders(eos) => stream.send_response_headers(headers(), eos),
            RespData(data, eos) => stream.send_response_body(data, eos),
            RespTrailers => stream.send_response_trailers(HeaderMap::from([("t", "1")])),
            Resume(filter, dir) => {
                stream.cell.borrow_mut().deferred.push((filter, Deferred::Continue(dir)));
                Chain::new(&stream.cell).process_deferred();
                Ok(Action::Continue)
            }
        };
    }
    let upstream = render(&stream.take_upstream_events());
    let downstream = render(&stream.take_downstream_events());
    let seen = seen
        .borrow()
        .iter()
        .filter(|s| !s.ends_with("log") && !s.ends_with("done") && !s.ends_with("delete"))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    ((seen, upstream, downstream), [stream.upstream(), stream.response()])
}

const CASES: &[Case] = &[
    Case {
        name: "Continue everywhere: requests in filter order, responses in reverse",
        filters: &[&[], &[]],
        input: &[ReqHeaders(false), ReqData("ab", true), RespHeaders(false), RespData("xy", true)],
        seen: "0:rqH 1:rqH 0:rqD(2!) 1:rqD(2!) 1:rsH 0:rsH 1:rsD(2!) 0:rsD(2!)",
        upstream: "H D:ab!",
        downstream: "H D:xy!",
    },
    Case {
        name: "StopIteration on headers: body still comes to the filter, buffered; Continue releases both",
        filters: &[&[("rqH", &[STOP]), ("rqD", &[BUF])], &[]],
        input: &[ReqHeaders(false), ReqData("a", false), ReqData("bc", true)],
        seen: "0:rqH 0:rqD(1) 0:rqD(3!) 1:rqH 1:rqD(3!)",
        upstream: "H D:abc!",
        downstream: "",
    },
    Case {
        name: "StopAllIteration: nothing reaches the filter until it resumes; then the headers go on and it sees all held data",
        filters: &[&[("rqH", &[ALL])], &[]],
        input: &[ReqHeaders(false), ReqData("ab", false), ReqData("c", true), Resume(0, Dir::Request)],
        seen: "0:rqH 1:rqH 0:rqD(3!) 1:rqD(3!)",
        upstream: "H D:abc!",
        downstream: "",
    },
    Case {
        name: "a later filter stopping holds what reaches it; earlier filters go on",
        filters: &[&[], &[("rqH", &[ALL])]],
        input: &[ReqHeaders(false), ReqData("ab", true)],
        seen: "0:rqH 1:rqH 0:rqD(2!)",
        upstream: "",
        downstream: "",
    },
    Case {
        name: "local reply mid-chain: nothing goes upstream, the reply passes every response filter",
        filters: &[&[], &[("rqH", &[Reply(403)])]],
        input: &[ReqHeaders(true)],
        seen: "0:rqH! 1:rqH! 1:rsH 0:rsH 1:rsD(6!) 0:rsD(6!)",
        upstream: "",
        downstream: "H D:denied!",
    },
    Case {
        name: "local reply from a body callback resets a request already upstream",
        filters: &[&[("rqD", &[Reply(413)])]],
        input: &[ReqHeaders(false), ReqData("big", false)],
        seen: "0:rqH 0:rqD(3) 0:rsH 0:rsD(6!)",
        upstream: "H X",
        downstream: "H D:denied!",
    },
    Case {
        name: "ContinueAndEndStream: the headers end the request, the body is dropped",
        filters: &[&[("rqH", &[END])], &[]],
        input: &[ReqHeaders(false), ReqData("x", true)],
        seen: "0:rqH 1:rqH!",
        upstream: "H!",
        downstream: "",
    },
    Case {
        name: "StopIterationNoBuffer drops the chunk",
        filters: &[&[("rqD", &[NOBUF])]],
        input: &[ReqHeaders(false), ReqData("a", false), ReqData("b", true)],
        seen: "0:rqH 0:rqD(1) 0:rqD(1!)",
        upstream: "H D:b!",
        downstream: "",
    },
    Case {
        name: "trailers held by a filter pass on resume, after the data",
        filters: &[&[("rqT", &[STOP])], &[]],
        input: &[ReqHeaders(false), ReqData("a", false), ReqTrailers, Resume(0, Dir::Request)],
        seen: "0:rqH 1:rqH 0:rqD(1) 1:rqD(1) 0:rqT 1:rqT",
        upstream: "H D:a T",
        downstream: "",
    },
    Case {
        name: "trailers reach a filter buffering the body: the held body goes on before them",
        filters: &[&[("rqH", &[STOP]), ("rqD", &[BUF])]],
        input: &[ReqHeaders(false), ReqData("ab", false), ReqTrailers],
        seen: "0:rqH 0:rqD(2) 0:rqT",
        upstream: "H D:ab T",
        downstream: "",
    },
    Case {
        name: "response headers held until resume; the response body waits with them",
        filters: &[&[("rsH", &[ALL])], &[]],
        input: &[ReqHeaders(true), RespHeaders(false), RespData("xy", true), Resume(0, Dir::Response)],
        seen: "0:rqH! 1:rqH! 1:rsH 0:rsH 1:rsD(2!) 0:rsD(2!)",
        upstream: "H!",
        downstream: "H D:xy!",
    },
    Case {
        name: "response trailers end the response through every filter in reverse",
        filters: &[&[], &[]],
        input: &[ReqHeaders(true), RespHeaders(false), RespData("x", false), RespTrailers],
        seen: "0:rqH! 1:rqH! 1:rsH 0:rsH 1:rsD(1) 0:rsD(1) 1:rsT 0:rsT",
        upstream: "H!",
        downstream: "H D:x T",
    },
    Case {
        name: "resume with nothing paused is ignored",
        filters: &[&[]],
        input: &[ReqHeaders(true), Resume(0, Dir::Request)],
        seen: "0:rqH!",
        upstream: "H!",
        downstream: "",
    },
];

#[test]
fn filter_chain_rules() {
    let mut failures = Vec::new();
    for case in CASES {
        let got = run(case);
        let want = (case.seen.to_string(), case.upstream.to_string(), case.downstream.to_string());
        if got != want {
            failures.push(format!("{}\n    got  {got:?}\n    want {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A proxy's stream keeps no copy of what passed: every case sends the same events, and the
/// messages still mark what passed (headers, trailers, the end, a reset), without contents.
#[test]
fn streams_without_messages_send_the_same() {
    for case in CASES {
        let (kept, [up, down]) = run_keeping(case, true);
        let (events, marks) = run_keeping(case, false);
        assert_eq!(events, kept, "{}", case.name);
        for (full, mark) in [(up, &marks[0]), (down, &marks[1])] {
            assert_eq!(full.headers.is_some(), mark.headers.is_some(), "{}", case.name);
            assert_eq!(full.trailers.is_some(), mark.trailers.is_some(), "{}", case.name);
            assert_eq!((full.end_of_stream, full.reset), (mark.end_of_stream, mark.reset), "{}", case.name);
            assert!(mark.body.is_empty() && mark.headers.as_ref().is_none_or(HeaderMap::is_empty), "{}", case.name);
        }
    }
}
