"""AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46) over a raw socket.

kafka-python 2.0.2 (Debian's python3-kafka) has no API for these requests and cannot encode
flexible versions, which is all these two APIs have. Standard library only (plus keel_it's frame
helpers, themselves stdlib only).

    reply = alter_partition_reassignments("127.0.0.1", port, {("orders", 0): [1, 2], ("orders", 1): None})
    partition_errors(reply)   # {("orders", 0): 0, ("orders", 1): 85}
    list_partition_reassignments("127.0.0.1", port)           # every partition being moved
    list_partition_reassignments("127.0.0.1", port, {"orders": [0, 1]})

Requests use header v2 (client id as a classic nullable string, then an empty tag buffer) and
compact encodings; responses have header v1. A reply that does not decode raises MalformedReply
naming what was wrong and where.
"""

import itertools
import socket
import struct

from keel_it import compact_string, recv_frame, request, uvarint

ALTER_PARTITION_REASSIGNMENTS = 45
LIST_PARTITION_REASSIGNMENTS = 46

# Seconds the socket waits beyond the request's own timeout before giving up on the broker.
SOCKET_SLACK_S = 10

_correlation_ids = itertools.count(1)


class MalformedReply(Exception):
    """The broker's reply does not decode as the response that was asked for."""


# ---------------------------------------------------------------------------------------------
# Encoding (compact: lengths are unsigned varints of length + 1, null is 0)


def _int32_array(values):
    return uvarint(len(values) + 1) + b"".join(struct.pack(">i", v) for v in values)


def _nullable_int32_array(values):
    return b"\x00" if values is None else _int32_array(values)


def _array(items):
    return uvarint(len(items) + 1) + b"".join(items)


_NO_TAGS = b"\x00"


def _by_topic(targets):
    """{(topic, partition): value} as [(topic, [(partition, value), ...])], topics in first-seen order."""
    topics = {}
    for (topic, partition), value in targets.items():
        topics.setdefault(topic, []).append((partition, value))
    return list(topics.items())


def _alter_body(targets, timeout_ms, version, allow_replication_factor_change):
    body = struct.pack(">i", timeout_ms)
    if version >= 1:
        body += struct.pack(">?", allow_replication_factor_change)
    topics = []
    for topic, partitions in _by_topic(targets):
        encoded = [struct.pack(">i", p) + _nullable_int32_array(replicas) + _NO_TAGS for p, replicas in partitions]
        topics.append(compact_string(topic) + _array(encoded) + _NO_TAGS)
    return body + _array(topics) + _NO_TAGS


def _list_body(topics, timeout_ms):
    body = struct.pack(">i", timeout_ms)
    if topics is None:
        return body + b"\x00" + _NO_TAGS  # null: every partition being reassigned
    encoded = [compact_string(name) + _int32_array(list(partitions)) + _NO_TAGS for name, partitions in topics.items()]
    return body + _array(encoded) + _NO_TAGS


# ---------------------------------------------------------------------------------------------
# Decoding


class _Reader:
    def __init__(self, data, what):
        self.data = data
        self.pos = 0
        self.what = what

    def fail(self, problem):
        raise MalformedReply(f"{self.what}: {problem} at byte {self.pos} of {len(self.data)}")

    def take(self, n):
        if self.pos + n > len(self.data):
            self.fail(f"needs {n} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def boolean(self):
        value = self.take(1)[0]
        if value > 1:
            self.fail(f"boolean byte {value}")
        return value == 1

    def uvarint(self):
        value = 0
        for shift in range(0, 35, 7):
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
        self.fail("unsigned varint longer than 5 bytes")

    def compact_length(self):
        """The length, or -1 for null."""
        return self.uvarint() - 1

    def string(self, nullable=False):
        n = self.compact_length()
        if n < 0:
            if not nullable:
                self.fail("null string where none may be")
            return None
        raw = self.take(n)
        try:
            return raw.decode()
        except UnicodeDecodeError:
            self.fail("string is not UTF-8")

    def array(self, element):
        n = self.compact_length()
        if n < 0:
            self.fail("null array where none may be")
        if n > len(self.data) - self.pos:  # every element takes at least one byte
            self.fail(f"array of {n} elements in {len(self.data) - self.pos} bytes")
        return [element() for _ in range(n)]

    def skip_tags(self):
        """Skips a tag buffer: these responses define no tagged fields, so all are unknown here."""
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def end(self):
        if self.pos != len(self.data):
            self.fail(f"{len(self.data) - self.pos} bytes after the response")


def _decode_alter(r, version):
    def partition():
        out = {"partition": r.int32(), "error_code": r.int16(), "error_message": r.string(nullable=True)}
        r.skip_tags()
        return out

    def topic():
        out = {"name": r.string(), "partitions": r.array(partition)}
        r.skip_tags()
        return out

    reply = {"throttle_time_ms": r.int32()}
    reply["allow_replication_factor_change"] = r.boolean() if version >= 1 else None
    reply["error_code"] = r.int16()
    reply["error_message"] = r.string(nullable=True)
    reply["topics"] = r.array(topic)
    r.skip_tags()
    return reply


def _decode_list(r):
    def partition():
        out = {"partition": r.int32(), "replicas": r.array(r.int32), "adding_replicas": r.array(r.int32),
               "removing_replicas": r.array(r.int32)}
        r.skip_tags()
        return out

    def topic():
        out = {"name": r.string(), "partitions": r.array(partition)}
        r.skip_tags()
        return out

    reply = {"throttle_time_ms": r.int32(), "error_code": r.int16(), "error_message": r.string(nullable=True),
             "topics": r.array(topic)}
    r.skip_tags()
    return reply


# ---------------------------------------------------------------------------------------------
# Calls


def _call(host, port, api_key, version, body, decode, timeout_s, what):
    correlation_id = next(_correlation_ids)
    frame = request(api_key, version, correlation_id, body, client_id="keel-it-reassign", flexible_header=True)
    with socket.create_connection((host, port), timeout=timeout_s) as s:
        s.sendall(frame)
        try:
            reply = recv_frame(s)
        except ConnectionError as e:
            raise MalformedReply(f"{what}: no whole reply ({e})") from None
    r = _Reader(reply, what)
    got = r.int32()
    if got != correlation_id:
        r.fail(f"correlation id {got}, sent {correlation_id}")
    r.skip_tags()  # response header v1
    decoded = decode(r)
    r.end()
    return decoded


def alter_partition_reassignments(host, port, targets, timeout_ms=30000, version=0,
                                  allow_replication_factor_change=True):
    """Sends AlterPartitionReassignments for {(topic, partition): [replicas] or None (cancel)}.

    Returns {"throttle_time_ms", "allow_replication_factor_change" (None in v0), "error_code",
    "error_message", "topics": [{"name", "partitions": [{"partition", "error_code",
    "error_message"}]}]}, topics in the order they first appear in `targets`."""
    if version not in (0, 1):
        raise ValueError(f"AlterPartitionReassignments has versions 0 and 1, not {version}")
    if version == 0 and not allow_replication_factor_change:
        # As Kafka's client refuses it: v0 cannot carry the flag, and dropping it would allow a change.
        raise ValueError("allow_replication_factor_change=False needs version 1")
    body = _alter_body(targets, timeout_ms, version, allow_replication_factor_change)
    return _call(host, port, ALTER_PARTITION_REASSIGNMENTS, version, body, lambda r: _decode_alter(r, version),
                 timeout_ms / 1000 + SOCKET_SLACK_S, f"AlterPartitionReassignments v{version} reply")


def list_partition_reassignments(host, port, topics=None, timeout_ms=30000):
    """Sends ListPartitionReassignments v0 for every partition being moved (topics=None) or for
    {topic: [partitions]}.

    Returns {"throttle_time_ms", "error_code", "error_message", "topics": [{"name", "partitions":
    [{"partition", "replicas", "adding_replicas", "removing_replicas"}]}]}."""
    body = _list_body(topics, timeout_ms)
    return _call(host, port, LIST_PARTITION_REASSIGNMENTS, 0, body, _decode_list,
                 timeout_ms / 1000 + SOCKET_SLACK_S, "ListPartitionReassignments v0 reply")


def partition_errors(reply):
    """{(topic, partition): error_code} of an alter_partition_reassignments reply."""
    return {(t["name"], p["partition"]): p["error_code"] for t in reply["topics"] for p in t["partitions"]}
