use super::parts::{read_parts, write_parts, Target};
use super::usage::{read_usage, write_usage};
use crate::chat::{ImageSource, Part};
use crate::json::Loc;
use serde_json::json;

#[test]
fn image_urls_get_the_media_type_of_their_extension() {
    let parts = [
        Part::Image { source: ImageSource::Url("https://x.test/a.PNG".into()), cache: None },
        Part::Image { source: ImageSource::Url("https://x.test/b?format=webp".into()), cache: None },
    ];
    let written = write_parts(&parts, Target::Request, &|_| None);
    assert_eq!(written[0]["fileData"]["mimeType"], "image/png");
    assert_eq!(written[1]["fileData"]["mimeType"], "image/jpeg", "the query is not the extension");
}

#[test]
fn thought_signatures_ride_on_the_next_part_and_come_back() {
    let parts = [
        Part::Reasoning { text: "hidden".into(), signature: Some("sig".into()) },
        Part::ToolCall { id: "c1".into(), name: "f".into(), arguments: "not json".into() },
    ];
    let written = write_parts(&parts, Target::Request, &|_| None);
    assert_eq!(written, vec![json!({"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "sig"})]);
    let read = read_parts(&written, Loc::Root, &mut 3).unwrap();
    assert_eq!(read[0], Part::Reasoning { text: String::new(), signature: Some("sig".into()) });
    assert!(matches!(&read[1], Part::ToolCall { id, .. } if id == "call_3"));
}

#[test]
fn usage_counts_thoughts_in_the_output_and_splits_them_again() {
    let usage = read_usage(&json!({"usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 4,
        "thoughtsTokenCount": 6, "totalTokenCount": 20}}))
    .unwrap();
    assert_eq!((usage.input, usage.output, usage.reasoning, usage.total), (Some(10), Some(10), Some(6), Some(20)));
    assert_eq!(
        write_usage(&usage).unwrap(),
        json!({"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6, "totalTokenCount": 20})
    );
    assert_eq!(read_usage(&json!({"candidates": []})), None);
}

mod fast_path {
    use super::super::StreamDecoder;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    /// What the decoder (typed reader first) and its general path make of `data`.
    fn both(data: &[u8]) {
        let (mut fast, mut general) = (StreamDecoder::new(), StreamDecoder::new());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let ra = fast.decode_into(Some(data), &mut a);
        let rb = general.decode_general(Some(data), &mut b);
        assert_eq!(ra, rb, "{}", String::from_utf8_lossy(data));
        assert_eq!(a, b, "{}", String::from_utf8_lossy(data));
    }

    #[test]
    fn the_typed_reader_says_what_the_value_path_says() {
        let cases = [
            r#"{"candidates":[{"content":{"parts":[{"text":"a\u00e9\n"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4,"promptTokensDetails":[{"modality":"TEXT","tokenCount":3}]},"modelVersion":"m","responseId":"r"}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"t","thought":true,"thoughtSignature":""}]},"finishReason":"MAX_TOKENS"}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"x","thoughtSignature":"s"},{"text":""}]},"finishReason":"STOP"}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"a":1}}}]},"finishReason":"STOP"}]}"#,
            r#"{"candidates":null,"usageMetadata":null,"responseId":null}"#,
            r#"{"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}}"#,
            r#"{"candidates":[[{"content":null}]]}"#,
            r#"{"candidates":[{"content":{"parts":[["x"]]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":null}]}}]}"#,
            r#"{"candidates":[{"content":{"parts":[{"text":"a","text":"b"}]}}]}"#,
            r#"{"usageMetadata":{"promptTokenCount":-1}}"#,
            r#"{"usageMetadata":{"promptTokenCount":1.5}}"#,
            r#"{"usageMetadata":[1,2]}"#,
            r#"{"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}}"#,
            r#"{"error":"x","candidates":[]}"#,
            r#"{"responseId":5}"#,
            r#"[1,2]"#,
            r#"{}"#,
            "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\u{0}\"}]}}]}",
        ];
        for case in cases {
            both(case.as_bytes());
        }
        both(b"{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\xff\"}]}}]}");
    }

    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            Just(json!("")),
            Just(json!("STOP")),
            Just(json!(7)),
            Just(json!(-1)),
            Just(json!(true)),
            Just(json!([])),
            Just(json!({})),
        ]
    }

    fn part() -> impl Strategy<Value = Value> {
        (scalar(), proptest::option::of(scalar()), proptest::option::of(scalar()), any::<bool>()).prop_map(
            |(text, thought, signature, call)| {
                let mut part = json!({"text": text});
                if let Some(thought) = thought {
                    part["thought"] = thought;
                }
                if let Some(signature) = signature {
                    part["thoughtSignature"] = signature;
                }
                if call {
                    part = json!({"functionCall": {"name": "f", "args": {}}});
                }
                part
            },
        )
    }

    proptest! {
        #[test]
        fn any_chunk_of_the_usual_shape_reads_the_same(
            parts in proptest::collection::vec(part(), 0..4),
            finish in proptest::option::of(scalar()),
            usage in proptest::option::of((scalar(), scalar())),
            id in proptest::option::of(scalar()),
        ) {
            let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
            if let Some(finish) = finish {
                candidate["finishReason"] = finish;
            }
            let mut chunk = json!({"candidates": [candidate]});
            if let Some((prompt, candidates)) = usage {
                chunk["usageMetadata"] = json!({"promptTokenCount": prompt, "candidatesTokenCount": candidates});
            }
            if let Some(id) = id {
                chunk["responseId"] = id;
            }
            both(chunk.to_string().as_bytes());
        }
    }
}
