"""The official `openai` SDK's Responses API (`client.responses`, what Codex-style agents use)
through the gateway: a response, whole and streamed, a tool call, its result sent back, an
error.

    python openai_responses_client.py http://127.0.0.1:8080 ai-proxy-claude.e2e.local [--tag T]

The route's provider may have only a chat API (Claude, any OpenAI-compatible chat endpoint):
ai-proxy translates the Responses request into a chat request and the chat reply or stream
back into a response and its events. The client validates every reply and every event
against the SDK's types (`_strict_response_validation`).
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
TOOLS = [{"type": "function", "name": TOOL, "description": TOOL_DESCRIPTION, "parameters": TOOL_SCHEMA}]


def check_usage(usage, prompt, completion):
    true("usage present", usage is not None, usage)
    equal("usage.input_tokens", usage.input_tokens, prompt)
    equal("usage.output_tokens", usage.output_tokens, completion)
    equal("usage.total_tokens", usage.total_tokens, prompt + completion)


def response():
    reply = client.responses.create(model=MODEL, instructions=SYSTEM, input=QUESTION)
    equal("object", reply.object, "response")
    equal("status", reply.status, "completed")
    true("id", bool(reply.id), reply.id)
    equal("output_text", reply.output_text, ANSWER)
    messages = [item for item in reply.output if item.type == "message"]
    equal("message items", len(messages), 1)
    equal("message role", messages[0].role, "assistant")
    check_usage(reply.usage, PROMPT_TOKENS, ANSWER_TOKENS)


def response_streamed():
    events = list(client.responses.create(model=MODEL, instructions=SYSTEM, input=QUESTION, stream=True))
    kinds = [e.type for e in events]
    equal("first event", kinds[0], "response.created")
    equal("last event", kinds[-1], "response.completed")
    numbers = [e.sequence_number for e in events]
    equal("sequence numbers increase", numbers, sorted(set(numbers)))
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    equal("the deltas' text", text, ANSWER)
    done = [e for e in events if e.type == "response.output_text.done"]
    equal("output_text.done", [e.text for e in done], [ANSWER])
    final = events[-1].response
    equal("final output_text", final.output_text, ANSWER)
    check_usage(final.usage, PROMPT_TOKENS, ANSWER_TOKENS)


def streamed_with_the_helper():
    # The SDK's stream helper accumulates the events into the final response.
    with client.responses.stream(model=MODEL, instructions=SYSTEM, input=QUESTION) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    equal("helper: output_text", final.output_text, ANSWER)


def tool_call():
    reply = client.responses.create(model=MODEL, input=TOOL_ASK, tools=TOOLS)
    calls = [item for item in reply.output if item.type == "function_call"]
    equal("function calls", len(calls), 1)
    equal("call name", calls[0].name, TOOL)
    equal("call arguments (JSON)", json.loads(calls[0].arguments), TOOL_ARGUMENTS)
    true("call_id", bool(calls[0].call_id), calls[0].call_id)
    return calls[0]


def tool_call_streamed():
    events = list(client.responses.create(model=MODEL, input=TOOL_ASK, tools=TOOLS, stream=True))
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    equal("function_call_arguments.done events", len(done), 1)
    equal("the event's arguments (JSON)", json.loads(done[0].arguments), TOOL_ARGUMENTS)
    final = events[-1].response
    calls = [item for item in final.output if item.type == "function_call"]
    equal("final function calls", [c.name for c in calls], [TOOL])


def tool_result():
    # An agent loop: the call, then its output sent back as an input item.
    call = tool_call()
    history = [
        {"role": "user", "content": TOOL_ASK},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT},
    ]
    reply = client.responses.create(model=MODEL, input=history, tools=TOOLS)
    equal("output_text", reply.output_text, TOOL_ANSWER)


def error_reply():
    try:
        client.responses.create(model=MODEL, input=QUESTION, extra_headers={"x-mock-status": "429"})
    except openai.RateLimitError as error:
        equal("status", error.status_code, 429)
        true("a message", bool(error.message), error.message)
        return
    raise check.Mismatch("a 429 from the provider did not raise openai.RateLimitError")


check.run(
    f"openai {openai.__version__} responses -> {args.gateway} (Host: {args.host})",
    [
        ("response", response),
        ("response streamed", response_streamed),
        ("streamed with the helper", streamed_with_the_helper),
        ("tool call", tool_call),
        ("tool call streamed", tool_call_streamed),
        ("tool result", tool_result),
        ("error reply", error_reply),
    ],
)
