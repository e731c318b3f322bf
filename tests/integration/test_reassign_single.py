"""AlterPartitionReassignments and ListPartitionReassignments against one real keel, through
kp_reassign's raw flexible-version requests (kafka-python 2.0.2 has no API for them): a partition
stays on its only broker, other placements and a cancel with nothing to cancel get Kafka's error
codes, nothing is listed in progress, ApiVersions advertises both APIs, and kp_reassign refuses a
reply that does not decode."""

import os
import socket
import struct
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import api_versions, check, check_eq, log, main, recv_frame, step  # noqa: E402

from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kp_reassign import (MalformedReply, alter_partition_reassignments, list_partition_reassignments,  # noqa: E402
                         partition_errors)

NODE_ID = 1  # keel_it's broker config
TOPIC = "kp-reassign"
UNKNOWN_TOPIC_OR_PARTITION = 3
INVALID_REPLICA_ASSIGNMENT = 39
NO_REASSIGNMENT_IN_PROGRESS = 85


def message_of(reply, topic, partition):
    for t in reply["topics"]:
        for p in t["partitions"]:
            if (t["name"], p["partition"]) == (topic, partition):
                return p["error_message"]
    raise AssertionError(f"no answer for {topic}-{partition} in {reply}")


def check_alter(broker):
    host = "127.0.0.1"
    with step("alter v0: [node] is accepted, [node, 99] and an unknown topic are refused"):
        reply = alter_partition_reassignments(host, broker.port, {(TOPIC, 0): [NODE_ID], (TOPIC, 1): [NODE_ID, 99],
                                                                  ("kp-ghost", 0): [NODE_ID]}, version=0)
        log(f"alter v0 reply: {reply}")
        check_eq((reply["error_code"], reply["error_message"]), (0, None), "top-level error")
        check_eq([t["name"] for t in reply["topics"]], [TOPIC, "kp-ghost"], "topics answered, in request order")
        check_eq(partition_errors(reply), {(TOPIC, 0): 0, (TOPIC, 1): INVALID_REPLICA_ASSIGNMENT,
                                           ("kp-ghost", 0): UNKNOWN_TOPIC_OR_PARTITION}, "per-partition errors")
        check_eq(message_of(reply, TOPIC, 0), None, "message of an accepted partition")
        check("99" in (message_of(reply, TOPIC, 1) or ""), f"the refusal names broker 99: {reply}")

    with step("alter v0: cancelling with nothing in progress gets NO_REASSIGNMENT_IN_PROGRESS"):
        reply = alter_partition_reassignments(host, broker.port, {(TOPIC, 0): None}, version=0)
        check_eq(partition_errors(reply), {(TOPIC, 0): NO_REASSIGNMENT_IN_PROGRESS}, "cancel")

    with step("alter v1 with allow_replication_factor_change=False: [node] is accepted, the flag echoed"):
        reply = alter_partition_reassignments(host, broker.port, {(TOPIC, 1): [NODE_ID]}, version=1,
                                              allow_replication_factor_change=False)
        check_eq(partition_errors(reply), {(TOPIC, 1): 0}, "per-partition errors")
        check_eq(reply["allow_replication_factor_change"], False, "echoed allow_replication_factor_change")


def check_list(broker):
    with step("list: nothing in progress, for every topic and for named partitions"):
        for topics in (None, {TOPIC: [0, 1], "kp-ghost": [0]}):
            reply = list_partition_reassignments("127.0.0.1", broker.port, topics)
            check_eq((reply["error_code"], reply["error_message"], reply["topics"]), (0, None, []),
                     f"list for {topics}")


def fake_broker(reply_body):
    """A one-connection server on 127.0.0.1 answering the request with header v1 and `reply_body`.
    Returns its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve():
        with server:
            conn, _ = server.accept()
            with conn:
                frame = recv_frame(conn)
                (correlation_id,) = struct.unpack_from(">i", frame, 4)
                payload = struct.pack(">i", correlation_id) + b"\x00" + reply_body
                conn.sendall(struct.pack(">i", len(payload)) + payload)

    threading.Thread(target=serve, daemon=True).start()
    return server.getsockname()[1]


def check_malformed_replies():
    with step("kp_reassign refuses replies that do not decode"):
        for body, problem in ((b"\x00\x00\x00\x00\x00", "needs"),  # cut off inside error_code
                              (b"\x00\x00\x00\x00\x00\x00\x00\x01\x00\x07", "bytes after the response")):
            port = fake_broker(body)
            try:
                alter_partition_reassignments("127.0.0.1", port, {(TOPIC, 0): [NODE_ID]}, timeout_ms=1000)
            except MalformedReply as e:
                log(f"MalformedReply as expected: {e}")
                check(problem in str(e), f"the error says what was wrong ({problem!r}): {e}")
                continue
            raise AssertionError(f"a reply of {body!r} decoded")


def run(ctx):
    broker = ctx.broker(num_partitions=1, auto_create=False)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-it-admin", request_timeout_ms=10000)
    ctx.on_cleanup(admin.close)

    with step("ApiVersions advertises AlterPartitionReassignments 0-1 and ListPartitionReassignments 0"):
        apis = api_versions(broker.port)
        check_eq(apis.get(45), (0, 1), "AlterPartitionReassignments versions")
        check_eq(apis.get(46), (0, 0), "ListPartitionReassignments versions")

    with step(f"kafka-python admin creates {TOPIC} with 2 partitions"):
        response = admin.create_topics([NewTopic(TOPIC, 2, 1)])
        check(all(e[1] == 0 for e in response.topic_errors), f"create_topics errors: {response.topic_errors}")

    check_alter(broker)
    check_list(broker)
    check_malformed_replies()

    with step("the broker still serves kafka-python and stops cleanly"):
        check(TOPIC in admin.list_topics(), f"{TOPIC} not in list_topics(): {admin.list_topics()}")
        admin.close()
        broker.stop()


if __name__ == "__main__":
    main(run, budget_s=60)
