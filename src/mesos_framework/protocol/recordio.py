"""Mesos RecordIO framing: ``<decimal length>\\n<payload>``, sans I/O.

Mesos streams events (``SUBSCRIBE`` responses) as RecordIO: each record is
its byte length in ASCII decimal, a ``\\n``, then exactly that many payload
bytes.  There is no trailing newline and no ``\\r``; payloads (protobuf) may
contain ``0x0A`` bytes, so the stream is never split on newlines.

`RecordIODecoder` is incremental: feed it HTTP chunks as they arrive,
however they are cut, and it returns the complete records in order:

    dec = RecordIODecoder()
    assert dec.feed(b"5\\nhel") == []
    assert dec.feed(b"lo2\\n{}") == [b"hello", b"{}"]
    dec.close()  # raises ProtocolError if the stream stopped inside a record
"""

from __future__ import annotations

from mesos_framework.errors import ProtocolError

__all__ = ["DEFAULT_MAX_RECORD_SIZE", "MAX_LENGTH_DIGITS", "RecordIODecoder", "recordio_encode"]

#: Default upper bound for one record: 64 MiB.  Mesos puts a whole allocation
#: cycle's offers for a framework into one ``OFFERS`` event, so large clusters
#: produce multi-megabyte records (10 000 agents at ~1.5 KiB per offer is
#: ~15 MiB of JSON).  64 MiB is protobuf's historical total-bytes limit, so
#: the C++ scheduler library could not parse a bigger event either.  The bound
#: stops a corrupt or hostile length prefix from making us buffer without end.
DEFAULT_MAX_RECORD_SIZE = 64 * 1024 * 1024

#: A length prefix is an unsigned 64-bit decimal: at most 20 digits.
MAX_LENGTH_DIGITS = 20


def recordio_encode(record: bytes) -> bytes:
    """Frame one record: ``b"5\\nhello"`` for ``b"hello"``."""
    return b"%d\n%s" % (len(record), record)


class RecordIODecoder:
    """Incremental RecordIO decoder.

    `feed()` takes any chunk of the byte stream and returns the records it
    completed, in order.  A record or its length prefix may be split over any
    number of chunks and a chunk may hold many records.  Large records that
    arrive in small pieces are assembled with one join (no quadratic copying).

    Malformed input raises `ProtocolError`
    naming the stream offset and what was seen: a prefix that is empty, holds
    anything but ASCII digits (a sign, whitespace, ``\\r``), is longer than
    `MAX_LENGTH_DIGITS`, or announces more than ``max_record_size``
    bytes.  After an error the decoder stays failed, like Mesos's own decoder:
    every later `feed()` raises the same error.

    A zero-length record decodes to ``b""`` (Mesos never sends one).

    Attributes:
        bytes_fed: total bytes passed to `feed()`.
        records_decoded: number of records returned so far.
    """

    __slots__ = (
        "_error",
        "_header",
        "_need",
        "_parts",
        "_parts_len",
        "_record_start",
        "bytes_fed",
        "max_record_size",
        "records_decoded",
    )

    def __init__(self, max_record_size: int = DEFAULT_MAX_RECORD_SIZE) -> None:
        if max_record_size < 1:
            raise ValueError(f"max_record_size must be positive, got {max_record_size}")
        self.max_record_size = max_record_size
        self.bytes_fed = 0
        self.records_decoded = 0
        self._header = b""  # digits of a length prefix split across chunks
        self._need = -1  # payload bytes still expected; -1 while reading a prefix
        self._parts: list[bytes] = []  # pieces of a payload split across chunks
        self._parts_len = 0
        self._record_start = 0  # stream offset of the current record's prefix
        self._error: ProtocolError | None = None

    @property
    def pending(self) -> bool:
        """True while a record (or its length prefix) is incomplete."""
        return self._need >= 0 or bool(self._header)

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Consume ``data`` and return the records completed by it."""
        if self._error is not None:
            raise self._error
        if type(data) is not bytes:
            data = bytes(data)
        base = self.bytes_fed  # stream offset of data[0]
        end = len(data)
        self.bytes_fed = base + end
        records: list[bytes] = []
        pos = 0
        if self._need >= 0 or self._header:
            pos = self._resume(data, base, records)
        # The hot loop: whole records inside this chunk, one slice each.
        append = records.append
        find = data.find
        limit = self.max_record_size
        while pos < end:
            nl = find(b"\n", pos)
            if nl < 0:
                self._record_start = base + pos
                self._header = data[pos:]
                self._check_digits(self._header, final=False)
                break
            header = data[pos:nl]
            if 0 < nl - pos <= MAX_LENGTH_DIGITS and header.isdigit():
                length = int(header)
                if length > limit:
                    self._record_start = base + pos
                    self._check_digits(header, final=True)  # raises, saying why
            else:
                self._record_start = base + pos
                length = self._check_digits(header, final=True)  # raises, saying what is wrong
            stop = nl + 1 + length
            if stop <= end:
                append(data[nl + 1 : stop])
                pos = stop
                continue
            self._record_start = base + pos
            self._need = length
            self._parts = [data[nl + 1 :]]
            self._parts_len = end - nl - 1
            break
        self.records_decoded += len(records)
        return records

    def _resume(self, data: bytes, base: int, records: list[bytes]) -> int:
        """Continue a length prefix or payload split across chunks; return where ``data`` goes on."""
        end = len(data)
        if self._need < 0:  # the rest of a length prefix
            nl = data.find(b"\n")
            if nl < 0:
                self._header += data
                self._check_digits(self._header, final=False)
                return end
            header = self._header + data[:nl]
            self._header = b""
            length = self._check_digits(header, final=True)
            pos = nl + 1
            if pos + length <= end:
                records.append(data[pos : pos + length])
                return pos + length
            self._need = length
            self._parts = [data[pos:]]
            self._parts_len = end - pos
            return end
        missing = self._need - self._parts_len
        if end < missing:
            self._parts.append(data)
            self._parts_len += end
            return end
        self._parts.append(data[:missing] if missing < end else data)
        records.append(b"".join(self._parts))
        self._parts = []
        self._parts_len = 0
        self._need = -1
        return missing

    def close(self) -> None:
        """Declare the end of the stream.

        Raises `ProtocolError` if the stream
        stopped inside a length prefix or a payload.
        """
        if self._error is not None:
            raise self._error
        if self._need >= 0:
            raise self._fail(
                f"stream ended inside a record: got {self._parts_len} of {self._need} payload bytes "
                f"(record starting at byte {self._record_start})"
            )
        if self._header:
            raise self._fail(
                f"stream ended inside a length prefix {self._header!r} (at byte {self._record_start})"
            )

    def _check_digits(self, header: bytes, *, final: bool) -> int:
        if len(header) > MAX_LENGTH_DIGITS:
            raise self._fail(
                f"RecordIO length prefix too long at byte {self._record_start}: "
                f"{header[: MAX_LENGTH_DIGITS + 4]!r}... (at most {MAX_LENGTH_DIGITS} digits)"
            )
        if header and not header.isdigit():
            raise self._fail(
                f"malformed RecordIO length prefix at byte {self._record_start}: {header!r} "
                "(expected ASCII decimal digits followed by '\\n')"
            )
        if not header:
            if final:
                raise self._fail(f"empty RecordIO length prefix at byte {self._record_start}")
            return 0
        length = int(header)
        if length > self.max_record_size:
            raise self._fail(
                f"RecordIO record at byte {self._record_start} announces {length} bytes, "
                f"more than max_record_size={self.max_record_size}"
            )
        return length

    def _fail(self, message: str) -> ProtocolError:
        self._error = ProtocolError(message)
        self._header = b""
        self._parts = []
        return self._error
