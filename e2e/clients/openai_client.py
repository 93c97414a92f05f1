"""The official `openai` SDK through the gateway: chat completions, whole and streamed, with
and without a tool call, and a tool result sent back.

    python openai_client.py http://127.0.0.1:8080 ai-proxy-claude.e2e.local [--tag T]

The route's provider may speak any protocol: ai-proxy translates. The client validates every
reply and every streamed chunk against the SDK's types (`_strict_response_validation`: by
default the SDK builds its objects without checking them, and a missing or mistyped field
would only surface when read).
"""

import json

import check
import openai
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
client = check.openai_client(args)
MODEL = "gpt-4o"  # the route's modelMapping renames it
MESSAGES = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
TOOLS = [
    {
        "type": "function",
        "function": {"name": TOOL, "description": TOOL_DESCRIPTION, "parameters": TOOL_SCHEMA},
    }
]


def check_usage(usage, prompt, completion):
    true("usage present", usage is not None, usage)
    equal("usage.prompt_tokens", usage.prompt_tokens, prompt)
    equal("usage.completion_tokens", usage.completion_tokens, completion)
    equal("usage.total_tokens", usage.total_tokens, prompt + completion)


def chat():
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    equal("object", reply.object, "chat.completion")
    true("id", bool(reply.id), reply.id)
    true("model", bool(reply.model), reply.model)
    equal("choices", len(reply.choices), 1)
    choice = reply.choices[0]
    equal("message.role", choice.message.role, "assistant")
    equal("message.content", choice.message.content, ANSWER)
    equal("message.tool_calls", choice.message.tool_calls, None)
    equal("finish_reason", choice.finish_reason, "stop")
    check_usage(reply.usage, PROMPT_TOKENS, ANSWER_TOKENS)


def chat_streamed():
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    true("chunks", len(chunks) > 2, len(chunks))
    equal("every chunk's object", {c.object for c in chunks}, {"chat.completion.chunk"})
    equal("one id for the stream", len({c.id for c in chunks}), 1)
    with_choice = [c for c in chunks if c.choices]
    text = "".join(c.choices[0].delta.content or "" for c in with_choice)
    equal("the deltas' text", text, ANSWER)
    roles = [c.choices[0].delta.role for c in with_choice if c.choices[0].delta.role]
    equal("delta roles", roles, ["assistant"])
    finishes = [c.choices[0].finish_reason for c in with_choice if c.choices[0].finish_reason]
    equal("finish reasons", finishes, ["stop"])
    usage = [c.usage for c in chunks if c.usage]
    equal("chunks with usage", len(usage), 1)
    equal("the usage chunk is the last", chunks[-1].usage, usage[0])
    equal("the usage chunk's choices", chunks[-1].choices, [])
    check_usage(usage[0], PROMPT_TOKENS, ANSWER_TOKENS)


def check_tool_call(call):
    true("tool call id", bool(call.id), call.id)
    equal("tool call type", call.type, "function")
    equal("tool call name", call.function.name, TOOL)
    equal("tool call arguments (JSON)", json.loads(call.function.arguments), TOOL_ARGUMENTS)


def tool_call():
    reply = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": TOOL_ASK}], tools=TOOLS
    )
    choice = reply.choices[0]
    equal("finish_reason", choice.finish_reason, "tool_calls")
    true("no text", not choice.message.content, choice.message.content)
    calls = choice.message.tool_calls or []
    equal("tool calls", len(calls), 1)
    check_tool_call(calls[0])
    true("usage.completion_tokens", reply.usage.completion_tokens > 0, reply.usage.completion_tokens)


def tool_call_streamed():
    # The SDK's stream helper: it accumulates the deltas (tool calls by index) and parses the
    # arguments as JSON when they are done.
    done = []
    with client.chat.completions.stream(
        model=MODEL,
        messages=[{"role": "user", "content": TOOL_ASK}],
        tools=TOOLS,
        stream_options={"include_usage": True},
    ) as stream:
        for event in stream:
            if event.type == "tool_calls.function.arguments.done":
                done.append(event)
        final = stream.get_final_completion()
    equal("arguments.done events", [(e.index, e.name) for e in done], [(0, TOOL)])
    equal("the event's arguments (JSON)", json.loads(done[0].arguments), TOOL_ARGUMENTS)
    choice = final.choices[0]
    equal("final finish_reason", choice.finish_reason, "tool_calls")
    true("final: no text", not choice.message.content, choice.message.content)
    calls = choice.message.tool_calls or []
    equal("final tool calls", len(calls), 1)
    check_tool_call(calls[0])
    true("final usage", final.usage is not None and final.usage.completion_tokens > 0, final.usage)


def tool_result():
    # The whole round: the call, then its result sent back; the mock answers the result.
    ask = [{"role": "user", "content": TOOL_ASK}]
    call = client.chat.completions.create(model=MODEL, messages=ask, tools=TOOLS).choices[0].message
    equal("tool calls", len(call.tool_calls or []), 1)
    history = ask + [
        call.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.tool_calls[0].id, "content": TOOL_RESULT},
    ]
    reply = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS)
    equal("message.content", reply.choices[0].message.content, TOOL_ANSWER)
    equal("finish_reason", reply.choices[0].finish_reason, "stop")
    # Streamed, as an agent loop does it.
    stream = client.chat.completions.create(model=MODEL, messages=history, tools=TOOLS, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    equal("streamed text", text, TOOL_ANSWER)


def error_reply():
    # The provider refuses (the mock answers 429 when asked to): the SDK raises its error type
    # for the status with the provider's message.
    try:
        client.chat.completions.create(model=MODEL, messages=MESSAGES, extra_headers={"x-mock-status": "429"})
    except openai.RateLimitError as error:
        equal("status", error.status_code, 429)
        true("a message", bool(error.message), error.message)
        return
    raise check.Mismatch("a 429 from the provider did not raise openai.RateLimitError")


def error_mid_stream():
    # The provider's stream breaks with an error event after the first delta: the SDK raises.
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, extra_headers={"x-mock-error-mid-stream": "1"}
    )
    text = ""
    try:
        for chunk in stream:
            text += "".join(c.delta.content or "" for c in chunk.choices)
    except openai.APIError as error:
        true("text before the error", ANSWER.startswith(text) and text != ANSWER, text)
        true("the error's message", bool(error.message), error.message)
        return
    raise check.Mismatch(f"a stream that broke with an error event ended normally, text {text!r}")


check.run(
    f"openai {openai.__version__} -> {args.gateway} (Host: {args.host})",
    [
        ("chat", chat),
        ("chat streamed", chat_streamed),
        ("tool call", tool_call),
        ("tool call streamed", tool_call_streamed),
        ("tool result", tool_result),
        ("error reply", error_reply),
        ("error mid-stream", error_mid_stream),
    ],
)
