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
