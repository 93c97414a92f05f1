"""What the client scripts share: their command line, the conversation they hold, and checks
that print what they checked and stop the scenario at the first mismatch.

A script runs its scenarios one after the other, prints an `ok` line for each value that
matched, and a summary; it exits 1 when a scenario failed (a mismatch, or an exception the
SDK raised: a reply it refused, an error status, a stream it could not read).
"""

import argparse
import sys
import traceback

# The conversation every script holds. The LLM mock (e2e/src/llm/) answers deterministically:
# `Mock reply to: <last user message or tool result>`, tokens are whitespace-separated words,
# and `call <tool> <words>` in the last user message calls that declared tool with
# `{"q": "<words>"}` instead of answering.
SYSTEM = "be brief"
QUESTION = "count to three"
ANSWER = "Mock reply to: count to three"
PROMPT_TOKENS = 5  # "be brief" + "count to three"
ANSWER_TOKENS = 6  # "Mock reply to: count to three"
TOOL = "get_weather"
TOOL_DESCRIPTION = "The weather in a city."
TOOL_SCHEMA = {
    "type": "object",
    "properties": {"q": {"type": "string", "description": "the city"}},
    "required": ["q"],
}
TOOL_ASK = f"call {TOOL} Paris"
TOOL_ARGUMENTS = {"q": "Paris"}
TOOL_RESULT = "sunny, 21 degrees"
TOOL_ANSWER = f"Mock reply to: {TOOL_RESULT}"


class Mismatch(Exception):
    """A reply that is not what the mock sends through a correct gateway."""


def arguments(description):
    """The script's command line: the gateway's URL and the route's domain."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("gateway", help="the gateway's URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("host", help="the route's domain, sent as the Host header (the gateway routes by it)")
    parser.add_argument("--tag", help="sent as x-mock-tag with every request: the LLM mock records them under it")
    return parser.parse_args()


def headers(args):
    """The headers every request carries: Host picks the route, x-mock-tag the mock's journal."""
    sent = {"Host": args.host}
    if args.tag:
        sent["x-mock-tag"] = args.tag
    return sent


def openai_client(args):
    """The official OpenAI client for the gateway: every reply and event validated against the
    SDK's types (`_strict_response_validation`: by default the SDK builds its objects without
    checking them), no retries (a retry would hide a failure), the client's own key (the
    gateway sends the provider's)."""
    import openai

    return openai.OpenAI(
        base_url=f"{args.gateway.rstrip('/')}/v1",
        api_key="sk-client-key",
        default_headers=headers(args),
        max_retries=0,
        timeout=30,
        _strict_response_validation=True,
    )


def equal(what, actual, expected):
    if actual != expected:
        raise Mismatch(f"{what}: expected {expected!r}, got {actual!r}")
    print(f"  ok  {what} = {actual!r}")


def true(what, condition, shown):
    if not condition:
        raise Mismatch(f"{what}: not so, got {shown!r}")
    print(f"  ok  {what}: {shown!r}")


def run(title, scenarios):
    """Runs every scenario (name, function), reports each, and exits 1 when one failed."""
    print(title)
    failed = []
    for name, scenario in scenarios:
        print(f"{name}:")
        try:
            scenario()
        except Mismatch as mismatch:
            print(f"  MISMATCH  {mismatch}")
            failed.append(name)
        except Exception as error:  # the SDK refused what the gateway sent: show all of it
            print(f"  ERROR  the SDK raised {type(error).__module__}.{type(error).__name__}: {error}")
            body = getattr(error, "body", None)
            if body is not None:
                print(f"  error body: {body!r}")
            traceback.print_exc(file=sys.stdout)
            failed.append(name)
    if failed:
        print(f"FAILED: {len(failed)} of {len(scenarios)} scenarios: {', '.join(failed)}")
        sys.exit(1)
    print(f"all {len(scenarios)} scenarios passed")
