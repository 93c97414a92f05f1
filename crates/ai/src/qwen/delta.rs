//! What is new in a stream event's text. With `incremental_output: true` each event holds
//! only the new part; with `false` each holds the whole text so far (content, reasoning and
//! each tool call's arguments alike), and the new part is what follows what was received.

/// How a stream's texts relate to the ones before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Mode {
    /// Not known yet. A text that begins with everything received so far is taken as the whole
    /// text again and only its tail is new; the first text that does not shows the stream is
    /// incremental, for good.
    #[default]
    Unknown,
    /// Each text is new (`incremental_output: true`).
    Incremental,
    /// Each text is the whole so far (`incremental_output: false`).
    Whole,
}

/// One text (a choice's content, its reasoning, a call's arguments) as received so far; kept
/// only while the stream may not be incremental.
#[derive(Debug, Default)]
pub(super) struct Received(String);

impl Received {
    /// What of `text` is new, given `mode`, which it may learn (Unknown → Incremental).
    ///
    /// In [`Mode::Whole`], a text that does not begin with what was received is a rewrite:
    /// passed on whole (Go's `StripPrefix` did the same); a shorter repeat says nothing.
    pub(super) fn delta<'t>(&mut self, text: &'t str, mode: &mut Mode) -> &'t str {
        if text.is_empty() || *mode == Mode::Incremental {
            return text;
        }
        if let Some(new) = text.strip_prefix(self.0.as_str()) {
            self.0.push_str(new);
            return new;
        }
        if *mode == Mode::Unknown {
            *mode = Mode::Incremental;
            return text;
        }
        if self.0.starts_with(text) {
            return "";
        }
        self.0.clear();
        self.0.push_str(text);
        text
    }

    /// Forgets the text (the stream proved incremental: nothing is compared any more).
    pub(super) fn forget(&mut self) {
        self.0 = String::new();
    }
}
