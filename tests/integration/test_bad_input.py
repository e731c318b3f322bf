"""Bad input to a real keel.

  test_bad_input.py KEEL frames   malformed frames on raw sockets: each bad connection is closed (or
                                  answered, as Kafka does for an unsupported ApiVersions version)
                                  while a second, long-lived connection keeps being served, and the
                                  broker still stops cleanly at the end
  test_bad_input.py KEEL config   bad configurations make keel exit non-zero, naming the key
"""

import os
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import (api_versions_v3_body, check, check_eq, connection_outcome, free_port, kstring, log,  # noqa: E402
                     main, parse_api_versions_v0, recv_frame, request, spawn, step)

REQUEST_BYTES_MAX = 1 << 20  # socket.request.max.bytes for this test's broker
UNSUPPORTED_VERSION = 35
API_VERSIONS = 18


class Witness:
    """A connection opened before the bad input and used after each case: it must keep working."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.correlation_id = 1000

    def check_served(self, after):
        self.correlation_id += 1
        self.sock.sendall(request(API_VERSIONS, 0, self.correlation_id))
        try:
            corr, err, apis = parse_api_versions_v0(recv_frame(self.sock))
        except (OSError, ConnectionError) as e:
            raise AssertionError(f"after {after}: the other connection is no longer served ({e})") from None
        check_eq((corr, err), (self.correlation_id, 0), f"after {after}: ApiVersions v0 on the other connection")
        check(API_VERSIONS in apis and 3 in apis, f"after {after}: ApiVersions lists {sorted(apis)}")
        # Metadata v1 for all topics (null array) on the same connection.
        self.correlation_id += 1
        self.sock.sendall(request(3, 1, self.correlation_id, struct.pack(">i", -1)))
        frame = recv_frame(self.sock)
        check_eq(struct.unpack_from(">i", frame)[0], self.correlation_id, f"after {after}: Metadata v1 correlation id")


    def metadata_v4_topic_error(self, topic):
        """Metadata v4 for `topic` with allow_auto_topic_creation; returns the topic's error code."""
        self.correlation_id += 1
        self.sock.sendall(request(3, 4, self.correlation_id, struct.pack(">i", 1) + kstring(topic) + b"\x01"))
        frame = recv_frame(self.sock)
        corr, _throttle, brokers = struct.unpack_from(">iii", frame)
        check_eq(corr, self.correlation_id, "Metadata v4 correlation id")
        pos = 12
        for _ in range(brokers):
            pos += 4
            (host_len,) = struct.unpack_from(">h", frame, pos)
            pos += 2 + host_len + 4
            (rack_len,) = struct.unpack_from(">h", frame, pos)
            pos += 2 + max(rack_len, 0)
        (cluster_len,) = struct.unpack_from(">h", frame, pos)
        pos += 2 + max(cluster_len, 0) + 4  # cluster id, controller id
        count, error, name_len = struct.unpack_from(">ihh", frame, pos)
        name = frame[pos + 8:pos + 8 + name_len].decode()
        check_eq((count, name), (1, topic), "topics in the Metadata v4 reply")
        return error


def bad_connection(port, payload, expect, what, witness, close_after_send=False):
    """Sends `payload` on a new connection and checks what the broker does with it: expect is
    'closed', or a function that checks the reply frame."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the broker may close before reading everything; that is a close
        if close_after_send:
            s.shutdown(socket.SHUT_WR)
        outcome = connection_outcome(s)
        if expect == "closed":
            check(outcome == "closed", f"{what}: want the connection closed, got {describe(outcome)}")
        else:
            check(isinstance(outcome, tuple), f"{what}: want a reply, got {describe(outcome)}")
            expect(outcome[1], s)
    log(f"{what}: {describe(outcome)}")
    witness.check_served(what)


def describe(outcome):
    if isinstance(outcome, tuple):
        return f"a {len(outcome[1])}-byte reply frame {outcome[1][:24].hex()}..."
    return {"closed": "connection closed", "open": "connection left open with no reply within 5s"}[outcome]


def check_unsupported_api_versions(correlation_id):
    def check_reply(frame, sock):
        corr, err, apis = parse_api_versions_v0(frame)
        check_eq(corr, correlation_id, "correlation id of the UNSUPPORTED_VERSION reply")
        check_eq(err, UNSUPPORTED_VERSION, "error code of the reply to an unsupported ApiVersions version")
        check(API_VERSIONS in apis, f"the v0 reply does not list ApiVersions: {apis}")
        lo, hi = apis[API_VERSIONS]
        check(lo == 0 and hi >= 3, f"ApiVersions range in the reply is {lo}-{hi}, want 0-3 or more")
        # The client retries on the same connection with a version the broker speaks (librdkafka does).
        sock.sendall(request(API_VERSIONS, 3, correlation_id + 1, api_versions_v3_body(), flexible_header=True))
        retry = recv_frame(sock)
        check_eq(struct.unpack_from(">ih", retry), (correlation_id + 1, 0),
                 "correlation id and error of the ApiVersions v3 retry on the same connection")
    return check_reply


def run_frames(ctx):
    broker = ctx.broker(props={"socket.request.max.bytes": REQUEST_BYTES_MAX})
    port = broker.port
    witness = Witness(port)
    ctx.on_cleanup(witness.sock.close)
    witness.check_served("nothing (start)")

    with step("an unsupported ApiVersions version gets Kafka's v0-format UNSUPPORTED_VERSION reply"):
        for version in (4, 127):
            bad_connection(port, request(API_VERSIONS, version, 77, api_versions_v3_body(), flexible_header=True),
                           check_unsupported_api_versions(77), f"ApiVersions v{version}", witness)

    cases = [
        ("garbage bytes (an HTTP request)", b"GET / HTTP/1.1\r\nHost: keel\r\n\r\n"),
        ("a frame size above socket.request.max.bytes", struct.pack(">i", REQUEST_BYTES_MAX + 1) + b"\0" * 64),
        ("a negative frame size", struct.pack(">i", -5) + b"\0" * 16),
        ("an empty frame", struct.pack(">i", 0)),
        ("a frame too short for a request header", struct.pack(">i", 3) + b"\0\0\0"),
        ("an unknown api key (1000)", request(1000, 0, 5)),
        ("a negative api key", request(-1, 0, 6)),
        ("an unsupported Produce version (2)", request(0, 2, 7, b"\0" * 16)),
        ("Metadata v1 whose topic array claims 1,000,000 entries", request(3, 1, 8, struct.pack(">i", 1_000_000))),
        ("Metadata v1 with a topic name longer than the frame", request(3, 1, 9, struct.pack(">i", 1) + struct.pack(">h", 5000))),
        ("a client id longer than the frame", struct.pack(">i", 10) + struct.pack(">hhih", 18, 0, 10, 300)),
        ("Produce v7 with a record batch of random bytes",
         request(0, 7, 11, kstring(None) + struct.pack(">hii", 1, 1000, 1) + kstring("t") + struct.pack(">ii", 1, 0)
                 + struct.pack(">i", 70) + os.urandom(70))),
    ]
    with step("Metadata v4 with allow_auto_topic_creation creates topic t (for the corrupt Produce below)"):
        check(witness.metadata_v4_topic_error("t") in (0, 5), "Metadata v4 auto-creation of topic t failed")
        check_eq(witness.metadata_v4_topic_error("t"), 0, "error code of topic t in Metadata v4, asked again")

    with step("malformed frames close their connection; the other connection keeps being served"):
        for what, payload in cases:
            if what.startswith("Produce v7"):
                # Kafka answers a corrupt batch with CORRUPT_MESSAGE (2) or INVALID_RECORD (87) in the
                # partition's response, and keeps the connection.
                def produce_error(frame, _sock):
                    corr, topics, name_len = struct.unpack_from(">iih", frame)
                    pos = 10 + name_len
                    _count, index, error = struct.unpack_from(">iih", frame, pos)
                    check_eq(corr, 11, "correlation id of the Produce reply")
                    check(error in (2, 87), f"Produce of a random-byte batch to t-{index} answered error {error}, "
                                            f"want CORRUPT_MESSAGE (2) or INVALID_RECORD (87)")
                bad_connection(port, payload, produce_error, what, witness)
            else:
                bad_connection(port, payload, "closed", what, witness)

    with step("a frame cut short by the client closing its side"):
        bad_connection(port, struct.pack(">i", 100) + b"\0" * 10, "closed", "a half frame then EOF", witness,
                       close_after_send=True)

    with step("many frames in one write, the last one bad: the good ones are answered in order first"):
        payload = b"".join(request(API_VERSIONS, 0, 200 + i) for i in range(3)) + request(1000, 0, 299)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(payload)
            for i in range(3):
                check_eq(parse_api_versions_v0(recv_frame(s))[:2], (200 + i, 0), f"pipelined ApiVersions #{i}")
            check_eq(connection_outcome(s), "closed", "connection after the pipelined unknown api key")
        witness.check_served("pipelined requests")

    check(broker.running(), "keel is no longer running after the bad frames")
    witness.sock.close()
    broker.stop()
    check("Assertion" not in broker.stderr_text(), "keel printed an assertion failure")


# ---------------------------------------------------------------------------------------------


def run_config_case(ctx, name, lines, overrides, must_name):
    """Writes a config, runs keel on it, and wants a non-zero exit within 10 s whose stderr names
    `must_name`."""
    d = os.path.join(ctx.tmp, name)
    os.makedirs(d)
    path = os.path.join(d, "server.properties")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    argv = [ctx.keel, path] + [x for o in overrides for x in ("--override", o)]
    with open(os.path.join(d, "stderr.txt"), "w+") as err:
        proc = spawn(argv, stdout=err, stderr=err)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(f"{name}: keel is still running 10s after starting with a bad config "
                                 f"({' '.join(argv)}); config:\n" + "\n".join(lines)) from None
        err.seek(0)
        text = err.read()
    check(code > 0, f"{name}: keel exited with {code} (want a non-zero exit, not a signal); stderr:\n{text}")
    check(must_name in text, f"{name}: keel's message does not name {must_name!r}; exit {code}, stderr:\n{text}")
    log(f"{name}: exit {code}: {text.strip().splitlines()[-1] if text.strip() else '(no message)'}")


def run_config(ctx):
    port = free_port()
    controller_port = free_port()
    log_dir = os.path.join(ctx.tmp, "logs")
    good = [
        "node.id=1",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        f"log.dirs={log_dir}",
        "num.partitions=1",
        "process.roles=broker,controller",
        f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
    ]
    kraft = good[5:]
    cases = [
        ("missing-process-roles", good[:5] + ["listeners=PLAINTEXT://127.0.0.1:" + str(port)], [], "process.roles"),
        ("unknown-key", good + ["no.such.setting=1"], [], "no.such.setting"),
        ("bad-number", good[:4] + kraft + ["num.partitions=many"], [], "num.partitions"),
        ("zero-partitions", good[:4] + kraft + ["num.partitions=0"], [], "num.partitions"),
        ("bad-boolean", good + ["auto.create.topics.enable=maybe"], [], "auto.create.topics.enable"),
        ("missing-node-id", good[1:], [], "node.id"),
        ("bad-node-id", ["node.id=one"] + good[1:], [], "node.id"),
        ("bad-listener", [good[0], "listeners=PLAINTEXT://127.0.0.1:notaport", good[2], good[3]] + kraft, [], "listeners"),
        ("bad-flush-interval", good + ["log.flush.interval.messages=-3"], [], "log.flush.interval.messages"),
        ("override-unknown-key", good, ["no.such.override=1"], "no.such.override"),
        ("override-bad-value", good, ["log.segment.bytes=big"], "log.segment.bytes"),
        ("override-without-equals", good, ["num.partitions"], "num.partitions"),
    ]
    with step("each bad configuration makes keel exit non-zero with a message naming the key"):
        for case in cases:
            run_config_case(ctx, *case)
    with step("a missing config file is named"):
        path = os.path.join(ctx.tmp, "no-such-dir", "server.properties")
        done = subprocess.run([ctx.keel, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
        text = done.stdout.decode(errors="replace")
        check(done.returncode > 0 and path in text, f"missing config file: exit {done.returncode}, output:\n{text}")
    with step("the good configuration itself starts (so the cases above fail for their own reason)"):
        broker = ctx.broker(name="good")
        broker.stop()
    with step("a log dir formatted for another node or cluster refuses start-up, naming both"):
        formatted = broker.log_dir  # node 1 of the cluster its voters name
        case_dir = os.path.join(ctx.tmp, "foreign")
        os.makedirs(case_dir, exist_ok=True)
        other = [line for line in good if not line.startswith(("node.id=", "log.dirs=", "controller.quorum.voters="))]
        run_config_case(ctx, "other-node-id", other + ["node.id=2", f"log.dirs={formatted}",
                                                       f"controller.quorum.voters=2@127.0.0.1:{controller_port}"],
                        [], "belongs to node 1")
        run_config_case(ctx, "other-cluster", [line for line in good if not line.startswith("log.dirs=")] +
                        [f"log.dirs={formatted}", "cluster.id=another-cluster-id-1234"], [], "belongs to cluster")
        with open(os.path.join(case_dir, "stray-file"), "w") as f:
            f.write("not Keel's")
        run_config_case(ctx, "unformatted-data", [line for line in good if not line.startswith("log.dirs=")] +
                        [f"log.dirs={case_dir}"], [], "no meta.properties")


MODES = {"frames": run_frames, "config": run_config}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in MODES:
        sys.stderr.write(f"usage: {sys.argv[0]} path/to/keel {'|'.join(MODES)}\n")
        sys.exit(2)
    main(MODES[sys.argv[2]], budget_s=60)
