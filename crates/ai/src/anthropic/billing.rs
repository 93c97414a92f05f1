//! Claude Code's billing line in the system prompt.
//!
//! Claude Code starts its system prompt with `x-anthropic-billing-header: cc_version=…;
//! cc_entrypoint=…; cch=<hash>;`, and the `cch` value changes on every request. Sent to
//! another provider as it is, it makes every prompt differ from its first line on, so that
//! provider's prompt cache never hits. Higress drops the `cch` field when it translates a
//! Claude request (and so do we); Anthropic itself never sees the translated request.

const PREFIX: &str = "x-anthropic-billing-header:";
const FIELD: &str = "; cch=";

/// `text` without its `; cch=…` fields when it is the billing line; any other text as it is.
pub(super) fn strip_cch(text: &str) -> String {
    if !text.starts_with(PREFIX) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(FIELD) {
        out.push_str(rest.get(..at).unwrap_or_default());
        let value = rest.get(at + FIELD.len()..).unwrap_or_default();
        // The field runs to the next `;` (kept: it ends the field before), or to the end.
        rest = match value.find(';') {
            Some(end) => value.get(end..).unwrap_or_default(),
            None => "",
        };
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cch_is_dropped_from_the_billing_line_only() {
        assert_eq!(
            strip_cch("x-anthropic-billing-header: cc_version=2.1.37.3a3; cc_entrypoint=claude-vscode; cch=abc123;"),
            "x-anthropic-billing-header: cc_version=2.1.37.3a3; cc_entrypoint=claude-vscode;"
        );
        assert_eq!(
            strip_cch("x-anthropic-billing-header: cc_version=1; cch=abc"),
            "x-anthropic-billing-header: cc_version=1"
        );
        assert_eq!(
            strip_cch("x-anthropic-billing-header: a=1; cch=x; b=2; cch=y;"),
            "x-anthropic-billing-header: a=1; b=2;"
        );
        assert_eq!(strip_cch("You are helpful; cch=1;"), "You are helpful; cch=1;");
        assert_eq!(strip_cch("x-anthropic-billing-header: ünï; cch=ß;"), "x-anthropic-billing-header: ünï;");
    }
}
