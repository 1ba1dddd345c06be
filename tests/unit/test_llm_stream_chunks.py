"""SSE framing and msgspec chunk decoding of streamed chat completions (pilot.llm.stream_chunks)."""

from __future__ import annotations

import msgspec
import pytest

from pilot.llm.stream_chunks import SSEData, decode_chunk, error_message

BODY = (
    b": keep-alive comment\r\n\r\n"
    b'data: {"choices": [{"delta": {"content": "h\xc3\xa9"}}]}\r\n\r\n'
    b"event: message\nid: 7\n"
    b'data: {"choices": [{"delta":\n'
    b'data:{"content": " there"}}]}\n\n'
    b"retry: 100\n\n"
    b'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}\n\n'
    b"data: [DONE]\n\n"
    b'data: {"cut": "off by the end of the stream"}\n'
)
EXPECTED = [
    b'{"choices": [{"delta": {"content": "h\xc3\xa9"}}]}',
    b'{"choices": [{"delta":\n{"content": " there"}}]}',  # multi-line data is joined with \n
    b'{"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}}',
    b"[DONE]",
]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(BODY)])
def test_events_are_the_same_however_the_network_splits_the_body(size):
    events = SSEData()
    found: list[bytes] = []
    for start in range(0, len(BODY), size):  # size 1 splits the UTF-8 é and every CRLF too
        found += events.feed(BODY[start:start + size])
    assert found == EXPECTED


def test_chunks_decode_content_tool_calls_usage_and_ignore_unknown_fields():
    text = decode_chunk(EXPECTED[0])
    assert text.choices[0].delta.content == "hé" and text.usage is None and text.error is None
    assert decode_chunk(EXPECTED[1]).choices[0].delta.content == " there"
    usage = decode_chunk(EXPECTED[2]).usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (3, 2, 5)
    call = decode_chunk(b'{"id": "x", "object": "chat.completion.chunk", "system_fingerprint": null, "choices": '
                        b'[{"index": 0, "logprobs": null, "finish_reason": null, "delta": {"role": "assistant", '
                        b'"tool_calls": [{"index": 1, "id": "call_1", "type": "function", '
                        b'"function": {"name": "search", "arguments": "{\\"q\\""}}]}}]}')
    fragment = call.choices[0].delta.tool_calls[0]
    assert (fragment.index, fragment.id, fragment.function.name, fragment.function.arguments) == (
        1, "call_1", "search", '{"q"')
    done = decode_chunk(b'{"choices": [{"delta": {}, "finish_reason": "stop"}], "usage": null}')
    assert done.choices[0].finish_reason == "stop" and done.choices[0].delta.content is None


def test_malformed_chunks_raise_value_errors():
    # ValueError is what classify() maps to a retryable "malformed" LLMError.
    for data in (b'{"choices": [{"delta": ', b'{"choices": "nope"}', b"[1, 2]"):
        with pytest.raises(msgspec.DecodeError) as info:
            decode_chunk(data)
        assert isinstance(info.value, ValueError)


def test_error_message_words_mid_stream_errors_like_the_sdk():
    assert decode_chunk(b'{"error": {"message": "overloaded", "code": 529}}').error == {
        "message": "overloaded", "code": 529}
    assert error_message({"message": "overloaded"}) == "overloaded"
    assert error_message({"code": 500}) == error_message("boom") == "An error occurred during streaming"
