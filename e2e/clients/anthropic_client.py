"""The official `anthropic` SDK through the gateway: messages, whole and streamed, with and
without a tool use, and a tool result sent back.

    python anthropic_client.py http://127.0.0.1:8080 ai-proxy-openai.e2e.local [--tag T]

The route's provider may speak any protocol: ai-proxy passes `/v1/messages` to Claude as it is
and translates it for the others. The client validates every reply and every streamed event
against the SDK's types (`_strict_response_validation`: by default the SDK builds its objects
without checking them, and a missing or mistyped field would only surface when read).
"""

import anthropic
import check
from check import (
    ANSWER,
    ANSWER_TOKENS,
    PROMPT_TOKENS,
    QUESTION,
    SYSTEM,
    TOOL,
    TOOL_ANSWER,
    TOOL_ARGUMENTS,
    TOOL_ASK,
    TOOL_DESCRIPTION,
    TOOL_RESULT,
    TOOL_SCHEMA,
    equal,
    true,
)

args = check.arguments(__doc__.splitlines()[0])
client = anthropic.Anthropic(
    base_url=args.gateway.rstrip("/"),
    api_key="sk-ant-client-key",  # the gateway sends the provider's own key
    default_headers=check.headers(args),
    max_retries=0,
    timeout=30,
    _strict_response_validation=True,
)
MODEL = "claude-sonnet-5"  # the route's modelMapping may rename it
MAX_TOKENS = 256
MESSAGES = [{"role": "user", "content": QUESTION}]
TOOLS = [{"name": TOOL, "description": TOOL_DESCRIPTION, "input_schema": TOOL_SCHEMA}]
TOOL_MESSAGES = [{"role": "user", "content": TOOL_ASK}]


def check_text_message(message, text, input_tokens, output_tokens):
    equal("type", message.type, "message")
    equal("role", message.role, "assistant")
    true("id", bool(message.id), message.id)
    true("model", bool(message.model), message.model)
    equal("content block types", [b.type for b in message.content], ["text"])
    equal("text", message.content[0].text, text)
    equal("stop_reason", message.stop_reason, "end_turn")
    equal("usage.input_tokens", message.usage.input_tokens, input_tokens)
    equal("usage.output_tokens", message.usage.output_tokens, output_tokens)


def check_tool_use(message):
    equal("stop_reason", message.stop_reason, "tool_use")
    uses = [b for b in message.content if b.type == "tool_use"]
    equal("tool_use blocks", len(uses), 1)
    equal("no text", [b.text for b in message.content if b.type == "text" and b.text], [])
    use = uses[0]
    true("tool_use id", bool(use.id), use.id)
    equal("tool_use name", use.name, TOOL)
    equal("tool_use input", use.input, TOOL_ARGUMENTS)
    true("usage.output_tokens", message.usage.output_tokens > 0, message.usage.output_tokens)
    return use


def chat():
    message = client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, messages=MESSAGES)
    check_text_message(message, ANSWER, PROMPT_TOKENS, ANSWER_TOKENS)


def chat_streamed():
    with client.messages.stream(model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, messages=MESSAGES) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    true("text pieces", len(pieces) > 1, pieces)
    equal("text_stream", "".join(pieces), ANSWER)
    check_text_message(final, ANSWER, PROMPT_TOKENS, ANSWER_TOKENS)


def chat_streamed_events():
    # The raw events, in Anthropic's order.
    stream = client.messages.create(
        model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM, messages=MESSAGES, stream=True
    )
    events = list(stream)
    kinds = [e.type for e in events]
    equal("first event", kinds[0], "message_start")
    equal("last events", kinds[-2:], ["message_delta", "message_stop"])
    equal("content blocks started", kinds.count("content_block_start"), 1)
    equal("content blocks stopped", kinds.count("content_block_stop"), 1)
    start = events[0].message
    equal("message_start role", start.role, "assistant")
    equal("message_start content", start.content, [])
    true("message_start id", bool(start.id), start.id)
    delta = events[-2]
    equal("message_delta stop_reason", delta.delta.stop_reason, "end_turn")
    equal("message_delta usage.output_tokens", delta.usage.output_tokens, ANSWER_TOKENS)
    # Claude counts the input in message_start; a translated OpenAI stream learns it from its
    # last chunk, so it comes with message_delta (which the SDK reads too).
    later = delta.usage.input_tokens
    input_tokens = later if later is not None else start.usage.input_tokens
    equal("input tokens (message_delta's, else message_start's)", input_tokens, PROMPT_TOKENS)


def tool_use():
    message = client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=TOOL_MESSAGES, tools=TOOLS)
    check_tool_use(message)


def tool_use_streamed():
    # The SDK's stream helper accumulates `input_json_delta` pieces and parses them at the end.
    with client.messages.stream(model=MODEL, max_tokens=MAX_TOKENS, messages=TOOL_MESSAGES, tools=TOOLS) as stream:
        partial = "".join(e.partial_json for e in stream if e.type == "input_json")
        final = stream.get_final_message()
    true("input_json pieces", bool(partial), partial)
    check_tool_use(final)


def tool_result():
    # The whole round: the tool use, then its result sent back; the mock answers the result.
    used = client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=TOOL_MESSAGES, tools=TOOLS)
    use = check_tool_use(used)
    history = TOOL_MESSAGES + [
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in used.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id, "content": TOOL_RESULT}]},
    ]
    message = client.messages.create(model=MODEL, max_tokens=MAX_TOKENS, messages=history, tools=TOOLS)
    equal("text", [b.text for b in message.content if b.type == "text"], [TOOL_ANSWER])
    equal("stop_reason", message.stop_reason, "end_turn")
    # Streamed, as an agent loop does it.
    with client.messages.stream(model=MODEL, max_tokens=MAX_TOKENS, messages=history, tools=TOOLS) as stream:
        equal("streamed text", stream.get_final_text(), TOOL_ANSWER)


def error_reply():
    # The provider refuses (the mock answers 429 when asked to): the SDK raises its error type
    # for the status, with Anthropic's error body.
    try:
        client.messages.create(
            model=MODEL, max_tokens=MAX_TOKENS, messages=MESSAGES, extra_headers={"x-mock-status": "429"}
        )
    except anthropic.RateLimitError as error:
        equal("status", error.status_code, 429)
        body = error.body if isinstance(error.body, dict) else {}
        equal("body type", body.get("type"), "error")
        true("error.type", bool(body.get("error", {}).get("type")), body)
        true("error.message", bool(body.get("error", {}).get("message")), body)
        return
    raise check.Mismatch("a 429 from the provider did not raise anthropic.RateLimitError")


def error_mid_stream():
    # The provider's stream breaks with an error after the first delta: the SDK raises.
    with client.messages.stream(
        model=MODEL, max_tokens=MAX_TOKENS, messages=MESSAGES, extra_headers={"x-mock-error-mid-stream": "1"}
    ) as stream:
        text = ""
        try:
            for piece in stream.text_stream:
                text += piece
        except anthropic.APIStatusError as error:
            true("text before the error", ANSWER.startswith(text) and text != ANSWER, text)
            true("the error", bool(str(error)), str(error))
            return
    raise check.Mismatch(f"a stream that broke with an error ended normally, text {text!r}")


check.run(
    f"anthropic {anthropic.__version__} -> {args.gateway} (Host: {args.host})",
    [
        ("messages", chat),
        ("messages streamed", chat_streamed),
        ("messages streamed, raw events", chat_streamed_events),
        ("tool use", tool_use),
        ("tool use streamed", tool_use_streamed),
        ("tool result", tool_result),
        ("error reply", error_reply),
        ("error mid-stream", error_mid_stream),
    ],
)
