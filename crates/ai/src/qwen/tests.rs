use super::delta::{Mode, Received};
use super::usage::{read_usage, write_usage};
use proptest::prelude::*;
use serde_json::json;

/// The new parts of `texts`, read in `mode`; the mode learnt.
fn deltas(texts: &[&str], mode: Mode) -> (Vec<String>, Mode) {
    let (mut received, mut mode) = (Received::default(), mode);
    let out = texts.iter().map(|t| received.delta(t, &mut mode).to_string()).collect();
    (out, mode)
}

#[test]
fn whole_texts_give_their_tails() {
    let (out, mode) =
        deltas(&["你好", "你好！我是", "", "你好！我是通义千问。", "你好！我是通义千问。"], Mode::Unknown);
    assert_eq!(out, ["你好", "！我是", "", "通义千问。", ""], "an empty text or a repeat says nothing new");
    assert_eq!(mode, Mode::Unknown, "nothing showed the stream incremental");
}

#[test]
fn the_first_text_that_does_not_extend_shows_an_incremental_stream() {
    let (out, mode) = deltas(&["Hello", " world", "Hello", "!"], Mode::Unknown);
    assert_eq!(out, ["Hello", " world", "Hello", "!"]);
    assert_eq!(mode, Mode::Incremental);
}

#[test]
fn a_delta_repeating_everything_before_it_is_the_cost_of_guessing() {
    // An incremental "-", "-", "x": guessed, the second "-" reads as a repeat.
    assert_eq!(deltas(&["-", "-", "x"], Mode::Unknown).0, ["-", "", "x"]);
    // Told, nothing is lost.
    assert_eq!(deltas(&["-", "-", "x"], Mode::Incremental).0, ["-", "-", "x"]);
}

#[test]
fn a_whole_stream_that_rewrites_passes_the_new_text_on() {
    let (out, mode) = deltas(&["abc", "ab", "xyz", "xyz!"], Mode::Whole);
    assert_eq!(out, ["abc", "", "xyz", "!"]);
    assert_eq!(mode, Mode::Whole, "told, the decoder does not change its mind");
}

#[test]
fn usage_keeps_cached_and_reasoning_tokens() {
    let body = json!({"usage": {"input_tokens": 120, "output_tokens": 80, "total_tokens": 200,
        "prompt_tokens_details": {"cached_tokens": 64}, "output_tokens_details": {"reasoning_tokens": 50}}});
    let usage = read_usage(&body).unwrap();
    assert_eq!(
        (usage.input, usage.output, usage.total, usage.cache_read, usage.reasoning),
        (Some(120), Some(80), Some(200), Some(64), Some(50))
    );
    assert_eq!(write_usage(&usage).unwrap(), body["usage"]);
    assert_eq!(read_usage(&json!({"output": {}})), None);
    assert_eq!(write_usage(&Default::default()), None);
}

proptest! {
    /// Whatever way a text is cut, its whole-text stream gives back exactly the text.
    #[test]
    fn whole_streams_give_back_the_text(text in "\\PC{0,40}", cuts in proptest::collection::vec(0usize..41, 0..6)) {
        let mut ends: Vec<usize> = cuts.into_iter().filter_map(|c| text.char_indices().nth(c).map(|(i, _)| i)).collect();
        ends.push(text.len());
        ends.sort_unstable();
        let prefixes: Vec<&str> = ends.iter().map(|&end| &text[..end]).collect();
        let (out, _) = deltas(&prefixes, Mode::Unknown);
        prop_assert_eq!(out.concat(), text.clone());
        let (out, _) = deltas(&prefixes, Mode::Whole);
        prop_assert_eq!(out.concat(), text);
    }
}
