"""The admin APIs from real clients against a real keel, one node ("single") or the three-node
cluster ("cluster"):

  - kafka-python 2.0.2 create_partitions: a topic grows (placed, and with explicit assignments),
    validate_only changes nothing, a decrease is InvalidPartitionsError, an unknown broker in an
    assignment is InvalidReplicationAssignmentError; every node's Metadata shows the new count;
  - confluent-kafka (librdkafka 2.0.2) create_partitions, validate_only and real;
  - kafka-python describe_cluster: the cluster id and every broker;
  - DeleteRecords (no Debian client has it: a hand-made v1 frame) moves the log start: the answer's
    low watermark, kafka-python's beginning_offsets, and a fetch below it is out of range.

Run as: test_admin.py path/to/keel single|cluster
"""

import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import (_Reader, check, check_eq, expect_error, kstring, log, main, recv_frame, request, step,  # noqa: E402
                     try_metadata, wait_until)
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition  # noqa: E402
from kafka import errors as kafka_errors  # noqa: E402
from kafka.admin import NewPartitions, NewTopic  # noqa: E402
from kp_util import produce, records  # noqa: E402

TOPIC = "admin-grow"
DELETE_TOPIC = "admin-delete"



def partition_count(port, topic):
    md = try_metadata(port, [topic])
    if md is None or topic not in md["topics"]:
        return None
    return len(md["topics"][topic]["partitions"])


def delete_records(port, topic, partition, offset, timeout_ms=10000):
    """DeleteRecords v1 to the node on `port`: (low_watermark, error_code) of the one partition."""
    body = (struct.pack(">i", 1) + kstring(topic) + struct.pack(">i", 1) + struct.pack(">iq", partition, offset) +
            struct.pack(">i", timeout_ms))
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_ms / 1000 + 5) as s:
        s.sendall(request(21, 1, 21, body))
        r = _Reader(recv_frame(s))
    check_eq(r.take(">i"), 21, "DeleteRecords correlation id")
    r.take(">i")  # throttle_time_ms

    def part():
        index, low, error = r.take(">iqh")
        return index, (low, error)

    def topic_result():
        name = r.string()
        return name, dict(r.array(part))

    topics = dict(r.array(topic_result))
    return topics[topic][partition]


def leader_port(nodes, topic, partition):
    for node in nodes:
        md = try_metadata(node.port, [topic])
        if md and topic in md["topics"]:
            leader = md["topics"][topic]["partitions"][partition][1]
            for n in nodes:
                if n.node_id == leader:
                    return n.port
    return None


def grow_with_kafka_python(admin, nodes, broker_ids, rf):
    with step("kafka-python create_partitions: validate_only, grow, assignments, errors"):
        admin.create_topics([NewTopic(TOPIC, 1, rf)])
        admin.create_partitions({TOPIC: NewPartitions(3)}, validate_only=True)
        check_eq(partition_count(nodes[0].port, TOPIC), 1, "partitions after validate_only")
        admin.create_partitions({TOPIC: NewPartitions(3)})
        assignment = [broker_ids[-rf:][::-1]]
        admin.create_partitions({TOPIC: NewPartitions(4, [assignment[0]])})
        for node in nodes:
            wait_until(lambda n=node: partition_count(n.port, TOPIC) == 4, 10, f"node {node.node_id} to show 4 partitions")
        md = try_metadata(nodes[0].port, [TOPIC], ordered=True)
        check_eq(md["topics"][TOPIC]["partitions"][3][2], assignment[0], "partition 3's replicas as assigned")
        expect_error(lambda: admin.create_partitions({TOPIC: NewPartitions(2)}),
                     kafka_errors.InvalidPartitionsError, "create_partitions decreasing")
        expect_error(lambda: admin.create_partitions({TOPIC: NewPartitions(5, [[99] * rf])}),
                     kafka_errors.InvalidReplicationAssignmentError, "create_partitions on broker 99")
        expect_error(lambda: admin.create_partitions({"admin-nope": NewPartitions(5)}),
                     kafka_errors.UnknownTopicOrPartitionError, "create_partitions of an unknown topic")


def grow_with_confluent(bootstrap):
    from confluent_kafka.admin import AdminClient, NewPartitions as CNewPartitions  # noqa: E402
    with step("confluent-kafka create_partitions: validate_only, then 4 -> 6"):
        admin = AdminClient({"bootstrap.servers": bootstrap})
        for validate in (True, False):
            futures = admin.create_partitions([CNewPartitions(TOPIC, 6)], validate_only=validate, request_timeout=15)
            for topic, future in futures.items():
                check_eq(future.result(timeout=20), None, f"confluent create_partitions {topic} validate_only={validate}")


def describe(admin, broker_ids):
    with step("kafka-python describe_cluster: the cluster id and every broker"):
        cluster = admin.describe_cluster()
        log(f"describe_cluster: {cluster}")
        check(cluster.get("cluster_id"), f"no cluster id in {cluster}")
        check_eq(sorted(b["node_id"] for b in cluster["brokers"]), sorted(broker_ids), "brokers")


def delete_and_read(nodes, bootstrap, rf):
    with step("DeleteRecords moves the log start; beginning_offsets and a fetch below it agree"):
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
        admin.create_topics([NewTopic(DELETE_TOPIC, 1, rf)])
        admin.close()
        produce(bootstrap, DELETE_TOPIC, records(50, "d", int(time.time() * 1000)), acks="all")
        port = leader_port(nodes, DELETE_TOPIC, 0)
        check(port is not None, "no leader for the partition")
        check_eq(delete_records(port, DELETE_TOPIC, 0, 30), (30, 0), "DeleteRecords to 30: (low watermark, error)")
        check_eq(delete_records(port, DELETE_TOPIC, 0, 51)[1], 1, "DeleteRecords past the high watermark: OFFSET_OUT_OF_RANGE")
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="none", enable_auto_commit=False)
        tp = TopicPartition(DELETE_TOPIC, 0)
        check_eq(consumer.beginning_offsets([tp])[tp], 30, "beginning offset after DeleteRecords")
        check_eq(consumer.end_offsets([tp])[tp], 50, "end offset after DeleteRecords")
        consumer.assign([tp])
        consumer.seek(tp, 10)
        expect_error(lambda: consumer.poll(timeout_ms=5000) or consumer.poll(timeout_ms=5000),
                     kafka_errors.OffsetOutOfRangeError, "a fetch below the log start")
        consumer.close()


def run(ctx):
    mode = sys.argv[2] if len(sys.argv) > 2 else "single"
    if mode == "cluster":
        from test_cluster import start_cluster  # noqa: E402
        nodes = start_cluster(ctx)
        for node in nodes:
            wait_until(lambda n=node: (md := try_metadata(n.port)) and sorted(md["brokers"]) == [1, 2, 3], 30,
                       f"node {node.node_id} to list three brokers")
        rf = 3
    else:
        broker = ctx.broker(num_partitions=1, auto_create=False)
        broker.node_id = 1
        nodes = [broker]
        rf = 1
    broker_ids = [n.node_id for n in nodes]
    bootstrap = [n.bootstrap for n in nodes]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="keel-it-admin", request_timeout_ms=15000)
    ctx.on_cleanup(admin.close)
    grow_with_kafka_python(admin, nodes, broker_ids, rf)
    grow_with_confluent(",".join(bootstrap))
    for node in nodes:
        wait_until(lambda n=node: partition_count(n.port, TOPIC) == 6, 10, f"node {node.node_id} to show 6 partitions")
    describe(admin, broker_ids)
    delete_and_read(nodes, bootstrap, rf)


if __name__ == "__main__":
    main(run)
