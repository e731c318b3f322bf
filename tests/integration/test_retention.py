"""Retention against a real keel whose retention check runs every 100 ms (issue 14).

survive: records without timestamps, sent as librdkafka sends them (a batch header saying max
    timestamp 0 over records that all say -1) on a raw Produce, and by kcat, on a topic with the
    default 7-day retention: after many retention checks they are all still there, and the log start
    is still 0. A topic with retention.ms=1500 shows the other side: its records without timestamps
    are measured by the segment file's modification time and go once it is older than that.
timestamps: message.timestamp.after.max.ms refuses a record from the far future with
    INVALID_TIMESTAMP; a LogAppendTime topic answers the broker's append time.
concurrent-create: several connections create different topics at the same moment; every one
    succeeds (it failed about two times in three with UNKNOWN_SERVER_ERROR).
"""

import os
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, kcat, kstring, log, main, recv_frame, request, step  # noqa: E402

# ---------------------------------------------------------------------------------------------
# A v2 record batch built by hand: CRC-32C (Castagnoli) and zigzag varints, standard library only.


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def varint(n):
    z = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        if z < 0x80:
            out.append(z)
            return bytes(out)
        out.append((z & 0x7F) | 0x80)
        z >>= 7


def record(offset_delta, timestamp_delta, value):
    body = b"\x00" + varint(timestamp_delta) + varint(offset_delta) + varint(-1) + varint(len(value)) + value
    body += varint(0)  # no headers
    return varint(len(body)) + body


def batch(values, base_timestamp, max_timestamp, attributes=0):
    """One uncompressed batch; every record's timestamp is base_timestamp (delta 0)."""
    records = b"".join(record(i, 0, v) for i, v in enumerate(values))
    after_crc = struct.pack(">hiqqqhii", attributes, len(values) - 1, base_timestamp, max_timestamp, -1, -1, -1,
                            len(values)) + records
    crc = crc32c(after_crc)
    after_length = struct.pack(">ibI", -1, 2, crc) + after_crc
    return struct.pack(">qi", 0, len(after_length)) + after_length


# ---------------------------------------------------------------------------------------------
# Produce v3, ListOffsets v1 and CreateTopics v0 on a raw socket.


class Raw:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.correlation_id = 0

    def call(self, api_key, version, body):
        self.correlation_id += 1
        self.sock.sendall(request(api_key, version, self.correlation_id, body))
        frame = recv_frame(self.sock)
        (cid,) = struct.unpack_from(">i", frame, 0)
        check_eq(cid, self.correlation_id, "correlation id")
        return frame[4:]

    def produce(self, topic, records_bytes):
        """(error code, base offset, log append time) of partition 0."""
        body = kstring(None) + struct.pack(">hii", -1, 10000, 1) + kstring(topic) + struct.pack(">ii", 1, 0)
        body += struct.pack(">i", len(records_bytes)) + records_bytes
        reply = self.call(0, 3, body)
        pos = 4  # one topic
        (name_len,) = struct.unpack_from(">h", reply, pos)
        pos += 2 + name_len + 4  # the name, then one partition
        _, error, base_offset, append_time = struct.unpack_from(">ihqq", reply, pos)
        return error, base_offset, append_time

    def earliest_and_latest(self, topic):
        out = []
        for ts in (-2, -1):
            body = struct.pack(">i", -1) + struct.pack(">i", 1) + kstring(topic) + struct.pack(">iiq", 1, 0, ts)
            reply = self.call(2, 1, body)
            (name_len,) = struct.unpack_from(">h", reply, 4)
            _, error, _, offset = struct.unpack_from(">ihqq", reply, 4 + 2 + name_len + 4)
            check_eq(error, 0, f"ListOffsets {topic} error")
            out.append(offset)
        return tuple(out)

    def create_topic(self, topic, configs=(), partitions=1):
        body = struct.pack(">i", 1) + kstring(topic) + struct.pack(">ihi", partitions, 1, 0)
        body += struct.pack(">i", len(configs)) + b"".join(kstring(k) + kstring(v) for k, v in configs)
        body += struct.pack(">i", 15000)
        reply = self.call(19, 0, body)
        (name_len,) = struct.unpack_from(">h", reply, 4)
        (error,) = struct.unpack_from(">h", reply, 4 + 2 + name_len)
        return error

    def close(self):
        self.sock.close()


INVALID_TIMESTAMP = 32


def wait_for(predicate, timeout_s, what):
    deadline = time.monotonic() + timeout_s
    while not predicate():
        check(time.monotonic() < deadline, f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


def retention_broker(ctx, name):
    return ctx.broker(name=name, props={"log.retention.check.interval.ms": 100, "log.initial.task.delay.ms": 0,
                                        "log.segment.delete.delay.ms": 0})


def run_survive(ctx):
    broker = retention_broker(ctx, "survive")
    raw = Raw(broker.port)
    with step("records without timestamps, header max timestamp 0 (librdkafka), default retention"):
        check_eq(raw.create_topic("keep"), 0, "CreateTopics keep")
        for i in range(5):
            error, base, _ = raw.produce("keep", batch([f"v{i}-{j}".encode() for j in range(10)], -1, 0))
            check_eq((error, base), (0, i * 10), f"produce batch {i}")
        kcat("-b", broker.bootstrap, "-P", "-t", "keep", "-X", "message.timeout.ms=20000",
             input_bytes=b"".join(f"kcat-{i}\n".encode() for i in range(20)))
    with step("30 retention checks later every record is still there"):
        time.sleep(3.0)  # the broker checks retention every 100 ms: let it run many times
        check_eq(raw.earliest_and_latest("keep"), (0, 70), "log start and end of 'keep'")
        done = kcat("-b", broker.bootstrap, "-C", "-t", "keep", "-o", "beginning", "-e", "-q", "-f", "%s\n")
        check_eq(len(done.stdout.decode().splitlines()), 70, "records consumed from 'keep'")
    with step("retention.ms=1500: the same records go once the segment file is that old"):
        check_eq(raw.create_topic("short", [("retention.ms", "1500")]), 0, "CreateTopics short")
        error, _, _ = raw.produce("short", batch([b"a", b"b", b"c"], -1, 0))
        check_eq(error, 0, "produce to 'short'")
        written = time.monotonic()
        wait_for(lambda: raw.earliest_and_latest("short") == (3, 3), 15, "the log start of 'short' to reach 3")
        waited = time.monotonic() - written
        log(f"'short' emptied {waited:.2f}s after the write")
        check(waited >= 1.4, f"records of 'short' went after {waited:.2f}s, before retention.ms=1500")
    raw.close()


def run_timestamps(ctx):
    broker = retention_broker(ctx, "timestamps")
    raw = Raw(broker.port)
    now_ms = int(time.time() * 1000)
    with step("message.timestamp.after.max.ms (1 hour by default): a record 2 hours ahead is refused"):
        check_eq(raw.create_topic("create-time"), 0, "CreateTopics create-time")
        future = now_ms + 2 * 3600 * 1000
        error, _, _ = raw.produce("create-time", batch([b"x"], future, future))
        check_eq(error, INVALID_TIMESTAMP, "produce of a record from the future")
        error, _, _ = raw.produce("create-time", batch([b"y"], now_ms, now_ms))
        check_eq(error, 0, "produce of a record from now")
    with step("message.timestamp.before.max.ms=60000: a record 2 minutes old is refused"):
        check_eq(raw.create_topic("recent", [("message.timestamp.before.max.ms", "60000")]), 0, "CreateTopics recent")
        error, _, _ = raw.produce("recent", batch([b"x"], now_ms - 120000, now_ms - 120000))
        check_eq(error, INVALID_TIMESTAMP, "produce of a record 2 minutes old")
    with step("LogAppendTime: the broker's clock is the batch's time, and answered"):
        check_eq(raw.create_topic("append-time", [("message.timestamp.type", "LogAppendTime")]), 0,
                 "CreateTopics append-time")
        before = int(time.time() * 1000)
        error, _, append_time = raw.produce("append-time", batch([b"z"], 5, 5))
        after = int(time.time() * 1000)
        check_eq(error, 0, "produce to append-time")
        check(before - 1000 <= append_time <= after + 1000, f"log append time {append_time} not in [{before}, {after}]")
    raw.close()


def run_concurrent_create(ctx):
    broker = ctx.broker(name="concurrent")
    rounds, connections = 5, 6
    with step(f"{rounds} rounds of {connections} connections creating different topics at once"):
        failures = []
        for r in range(rounds):
            raws = [Raw(broker.port) for _ in range(connections)]
            barrier = threading.Barrier(connections)
            results = [None] * connections

            def create(i, r=r):
                barrier.wait()
                results[i] = raws[i].create_topic(f"t-{r}-{i}", partitions=1 + (i + r) % 4)

            threads = [threading.Thread(target=create, args=(i,)) for i in range(connections)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            failures += [(f"t-{r}-{i}", code) for i, code in enumerate(results) if code != 0]
            for raw in raws:
                raw.close()
        check(not failures, f"CreateTopics failed (topic, error code): {failures}")


def run(ctx):
    which = sys.argv[2] if len(sys.argv) > 2 else "all"
    if which in ("survive", "all"):
        run_survive(ctx)
    if which in ("timestamps", "all"):
        run_timestamps(ctx)
    if which in ("concurrent-create", "all"):
        run_concurrent_create(ctx)


if __name__ == "__main__":
    main(run)
