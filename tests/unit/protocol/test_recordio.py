"""RecordIO framing: incremental decoding, chunk independence, malformed input."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesos_framework.errors import ProtocolError
from mesos_framework.protocol import DEFAULT_MAX_RECORD_SIZE, RecordIODecoder, recordio_encode


def test_encode_is_length_newline_payload() -> None:
    assert recordio_encode(b"hello") == b"5\nhello"
    assert recordio_encode(b"") == b"0\n"
    # The length counts bytes, not characters.
    payload = '{"m":"é"}'.encode()
    assert recordio_encode(payload) == b"10\n" + payload


def test_style_guide_example() -> None:
    dec = RecordIODecoder(max_record_size=4 << 20)
    assert dec.feed(b"5\nhel") == []
    assert dec.feed(b"lo2\n{}") == [b"hello", b"{}"]
    dec.close()


def test_many_records_in_one_chunk_and_newlines_in_payload() -> None:
    records = [b"\n\n", b"a\nb", b"x" * 1000, b"\x00\x0a\xff"]
    dec = RecordIODecoder()
    assert dec.feed(b"".join(recordio_encode(r) for r in records)) == records
    assert dec.records_decoded == 4
    assert not dec.pending
    dec.close()


def test_byte_by_byte() -> None:
    records = [b"first", b"", b"third\nrecord"]
    stream = b"".join(recordio_encode(r) for r in records)
    dec = RecordIODecoder()
    out: list[bytes] = []
    for i in range(len(stream)):
        out.extend(dec.feed(stream[i : i + 1]))
    assert out == records
    assert dec.bytes_fed == len(stream)
    dec.close()


def test_accepts_bytearray_and_memoryview() -> None:
    dec = RecordIODecoder()
    assert dec.feed(bytearray(b"3\nab")) == []
    assert dec.feed(memoryview(b"c1\nz")) == [b"abc", b"z"]


def test_large_record_in_small_chunks_is_exact() -> None:
    payload = bytes(random.Random(7).randrange(256) for _ in range(300_000))
    stream = recordio_encode(payload) + recordio_encode(b"tail")
    dec = RecordIODecoder()
    out: list[bytes] = []
    for i in range(0, len(stream), 4096):
        out.extend(dec.feed(stream[i : i + 4096]))
    assert out == [payload, b"tail"]


@settings(max_examples=150, deadline=None)
@given(
    records=st.lists(st.binary(max_size=300), max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=4000), max_size=30),
)
def test_chunk_boundaries_do_not_matter(records: list[bytes], cuts: list[int]) -> None:
    stream = b"".join(recordio_encode(r) for r in records)
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    dec = RecordIODecoder()
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(dec.feed(chunk))
    assert out == records
    dec.close()


# (stream, error fed whole, error fed byte by byte: detected as early as possible)
BAD_PREFIXES = [
    (b"12\r\nabcdefghijkl", r"malformed RecordIO length prefix at byte 0: b'12\\r'", r"at byte 0: b'12\\r'"),
    (b"-5\nhello", "malformed RecordIO length prefix at byte 0: b'-5'", "at byte 0: b'-'"),
    (b"+5\nhello", "malformed RecordIO length prefix at byte 0: b'\\+5'", "at byte 0: b'\\+'"),
    (b" 5\nhello", "malformed RecordIO length prefix at byte 0: b' 5'", "at byte 0: b' '"),
    (b"5 \nhello", "malformed RecordIO length prefix at byte 0: b'5 '", "at byte 0: b'5 '"),
    (b"0x10\n", "malformed RecordIO length prefix at byte 0: b'0x10'", "at byte 0: b'0x'"),
    (b"\nhello", "empty RecordIO length prefix at byte 0", "empty RecordIO length prefix at byte 0"),
    (b"<html>", "malformed RecordIO length prefix at byte 0: b'<html>'", "at byte 0: b'<'"),
    (b"0" * 21, "length prefix too long at byte 0", "length prefix too long at byte 0"),
    (b"1" * 21, "length prefix too long at byte 0", "more than max_record_size"),
    (b"2\nok\n", "empty RecordIO length prefix at byte 4", "empty RecordIO length prefix at byte 4"),
    (b"2\nokx\n", "malformed RecordIO length prefix at byte 4: b'x'", "at byte 4: b'x'"),
]


@pytest.mark.parametrize(("stream", "message", "early"), BAD_PREFIXES)
def test_malformed_prefix(stream: bytes, message: str, early: str) -> None:
    dec = RecordIODecoder()
    with pytest.raises(ProtocolError, match=message):
        dec.feed(stream)


@pytest.mark.parametrize(("stream", "message", "early"), BAD_PREFIXES)
def test_malformed_prefix_byte_by_byte(stream: bytes, message: str, early: str) -> None:
    dec = RecordIODecoder()
    with pytest.raises(ProtocolError, match=early):
        for i in range(len(stream)):
            dec.feed(stream[i : i + 1])


def test_error_is_permanent() -> None:
    dec = RecordIODecoder()
    with pytest.raises(ProtocolError):
        dec.feed(b"x\n")
    with pytest.raises(ProtocolError, match="malformed"):
        dec.feed(b"1\na")
    with pytest.raises(ProtocolError, match="malformed"):
        dec.close()


def test_oversized_record_rejected_before_buffering() -> None:
    dec = RecordIODecoder(max_record_size=100)
    assert dec.feed(b"100\n") == []  # exactly the limit is fine
    dec2 = RecordIODecoder(max_record_size=100)
    # Rejected as soon as the digits exceed the bound, before the newline.
    with pytest.raises(ProtocolError, match="announces 1000 bytes, more than max_record_size=100"):
        dec2.feed(b"1000")


def test_default_max_record_size_is_64_mib() -> None:
    assert DEFAULT_MAX_RECORD_SIZE == 64 * 1024 * 1024
    dec = RecordIODecoder()
    assert dec.feed(b"%d\n" % DEFAULT_MAX_RECORD_SIZE) == []
    with pytest.raises(ProtocolError, match="max_record_size"):
        RecordIODecoder().feed(b"%d\n" % (DEFAULT_MAX_RECORD_SIZE + 1))


def test_invalid_max_record_size() -> None:
    with pytest.raises(ValueError, match="positive"):
        RecordIODecoder(max_record_size=0)


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"5\nhel", r"stream ended inside a record: got 3 of 5 payload bytes \(record starting at byte 0\)"),
        (b"1\na12", r"stream ended inside a length prefix b'12' \(at byte 3\)"),
        (b"3\nabc10\n", "got 0 of 10 payload bytes"),
    ],
)
def test_close_with_partial_record(stream: bytes, message: str) -> None:
    dec = RecordIODecoder()
    dec.feed(stream)
    assert dec.pending
    with pytest.raises(ProtocolError, match=message):
        dec.close()


def test_zero_length_record_is_empty_bytes_like_stout() -> None:
    assert RecordIODecoder().feed(b"0\n0\n1\nx") == [b"", b"", b"x"]
