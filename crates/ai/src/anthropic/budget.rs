//! `max_tokens` and the thinking budget of a request written for Anthropic, which has rules
//! for both that an OpenAI client knows nothing of: `max_tokens` is required, the budget is at
//! least 1024 and below `max_tokens`, and thinking is refused when `tool_choice` forces a
//! tool call ("Thinking may not be enabled when tool_choice forces tool use").

use crate::chat::{Request, ToolChoice};

/// `max_tokens` when the request gave none (Higress's default).
pub(super) const DEFAULT_MAX_TOKENS: u64 = 4096;
/// Anthropic's smallest thinking budget.
const MIN_BUDGET: u64 = 1024;

/// The output limit and the thinking budget (`None`: no thinking) to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Budget {
    pub max_tokens: u64,
    pub thinking: Option<u64>,
}

impl Budget {
    /// What `request` asks for, made acceptable to Anthropic:
    /// - no reasoning asked: `max_tokens` as given, else [`DEFAULT_MAX_TOKENS`];
    /// - a forced tool call (`tool_choice` required or a named tool): no thinking, since the
    ///   caller relies on the call and Anthropic refuses both together;
    /// - no `max_tokens` given: the budget plus [`DEFAULT_MAX_TOKENS`] for the answer (a
    ///   default of 4096 under a medium budget of 8192 is a certain 400, which Go sent);
    /// - a `max_tokens` at or under the budget: the budget shrinks to fit below it, and
    ///   thinking is left out when less than 1024 would remain.
    pub(super) fn of(request: &Request) -> Budget {
        let given = request.params.max_tokens;
        let forced = !request.tools.is_empty()
            && matches!(request.tool_choice, Some(ToolChoice::Required) | Some(ToolChoice::Tool(_)));
        let reasoning = request.params.reasoning.as_ref().filter(|_| !forced);
        let Some(reasoning) = reasoning else {
            return Budget { max_tokens: given.unwrap_or(DEFAULT_MAX_TOKENS), thinking: None };
        };
        let wanted = reasoning.budget();
        match given {
            None => Budget { max_tokens: wanted.saturating_add(DEFAULT_MAX_TOKENS), thinking: Some(wanted) },
            Some(max_tokens) if wanted < max_tokens => Budget { max_tokens, thinking: Some(wanted) },
            Some(max_tokens) => {
                let fits = max_tokens.saturating_sub(1);
                Budget { max_tokens, thinking: (fits >= MIN_BUDGET).then_some(fits) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::{Reasoning, Tool};
    use serde_json::json;

    fn request(max_tokens: Option<u64>, effort: Option<&str>, choice: Option<ToolChoice>) -> Request {
        let mut request = Request::default();
        request.params.max_tokens = max_tokens;
        request.params.reasoning = effort.map(|e| Reasoning { effort: Some(e.into()), budget_tokens: None });
        request.tool_choice = choice;
        request.tools =
            vec![Tool { name: "f".into(), description: None, parameters: json!({"type": "object"}), cache: None }];
        request
    }

    #[test]
    fn budgets() {
        let b = |max, effort, choice| Budget::of(&request(max, effort, choice));
        assert_eq!(b(None, None, None), Budget { max_tokens: 4096, thinking: None });
        assert_eq!(b(Some(100), None, None), Budget { max_tokens: 100, thinking: None });
        assert_eq!(b(None, Some("medium"), None), Budget { max_tokens: 8192 + 4096, thinking: Some(8192) });
        assert_eq!(b(Some(32000), Some("high"), None), Budget { max_tokens: 32000, thinking: Some(16384) });
        assert_eq!(b(Some(4096), Some("high"), None), Budget { max_tokens: 4096, thinking: Some(4095) });
        assert_eq!(b(Some(1024), Some("low"), None), Budget { max_tokens: 1024, thinking: None });
        assert_eq!(b(Some(1025), Some("low"), None), Budget { max_tokens: 1025, thinking: Some(1024) });
        let forced = b(None, Some("high"), Some(ToolChoice::Required));
        assert_eq!(forced, Budget { max_tokens: 4096, thinking: None });
        let named = b(Some(9000), Some("high"), Some(ToolChoice::Tool("f".into())));
        assert_eq!(named, Budget { max_tokens: 9000, thinking: None });
        let auto = b(Some(9000), Some("low"), Some(ToolChoice::Auto));
        assert_eq!(auto, Budget { max_tokens: 9000, thinking: Some(1024) });
    }
}
