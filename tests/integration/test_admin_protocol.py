"""The admin calls that Debian's clients have no method for, against a real keel, one node
("single") or the three-node cluster ("cluster"): IncrementalAlterConfigs (kafka-python 2.0.2 and
confluent-kafka 1.7.0 predate it), ElectLeaders and DescribeLogDirs. Each request goes through
kafka-python's own connection, framing and codec (`KafkaAdminClient._send_request_to_node`); only
the message layouts are written here, from Kafka's schemas:

  - IncrementalAlterConfigs v0: SET, DELETE and APPEND on a topic, seen by kafka-python's
    describe_configs; a bad value is INVALID_CONFIG and changes nothing; validate_only changes
    nothing; a dynamic broker default (log.retention.ms) set on every broker at once;
  - ElectLeaders v1: preferred election of a partition whose preferred leader is the leader is
    ELECTION_NOT_NEEDED; on the cluster, the preferred leader killed, restarted and back in the ISR
    is made leader again by a preferred election (auto.leader.rebalance.enable=false, so nothing
    else does it); an unknown partition is UNKNOWN_TOPIC_OR_PARTITION;
  - DescribeLogDirs v1: every node's log dir, with the topic's partitions and their sizes, which
    grow after records are produced.

Run as: test_admin_protocol.py path/to/keel single|cluster
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, log, main, step, try_metadata, wait_until  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka.protocol.api import Request, Response  # noqa: E402
from kafka.protocol.types import Array, Boolean, Int8, Int16, Int32, Int64, Schema, String  # noqa: E402
from kp_util import produce, records  # noqa: E402

TOPIC = "admin-calls"
SET, DELETE, APPEND = 0, 1, 2
TOPIC_RESOURCE, BROKER_RESOURCE = 2, 4
NONE, INVALID_CONFIG, UNKNOWN_TOPIC_OR_PARTITION, ELECTION_NOT_NEEDED = 0, 40, 3, 84


class IncrementalAlterConfigsResponse_v0(Response):
    API_KEY = 44
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("responses", Array(("error_code", Int16), ("error_message", String("utf-8")), ("resource_type", Int8),
                            ("resource_name", String("utf-8")))))


class IncrementalAlterConfigsRequest_v0(Request):
    API_KEY = 44
    API_VERSION = 0
    RESPONSE_TYPE = IncrementalAlterConfigsResponse_v0
    SCHEMA = Schema(
        ("resources", Array(("resource_type", Int8), ("resource_name", String("utf-8")),
                            ("configs", Array(("name", String("utf-8")), ("config_operation", Int8),
                                              ("value", String("utf-8")))))),
        ("validate_only", Boolean))


class ElectLeadersResponse_v1(Response):
    API_KEY = 43
    API_VERSION = 1
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("replica_election_results", Array(("topic", String("utf-8")),
                                           ("partition_result", Array(("partition_id", Int32), ("error_code", Int16),
                                                                      ("error_message", String("utf-8")))))))


class ElectLeadersRequest_v1(Request):
    API_KEY = 43
    API_VERSION = 1
    RESPONSE_TYPE = ElectLeadersResponse_v1
    SCHEMA = Schema(
        ("election_type", Int8),
        ("topic_partitions", Array(("topic", String("utf-8")), ("partitions", Array(Int32)))),
        ("timeout_ms", Int32))


class DescribeLogDirsResponse_v1(Response):
    API_KEY = 35
    API_VERSION = 1
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        ("results", Array(("error_code", Int16), ("log_dir", String("utf-8")),
                          ("topics", Array(("name", String("utf-8")),
                                           ("partitions", Array(("partition_index", Int32), ("partition_size", Int64),
                                                                ("offset_lag", Int64), ("is_future_key", Boolean))))))))


class DescribeLogDirsRequest_v1(Request):
    API_KEY = 35
    API_VERSION = 1
    RESPONSE_TYPE = DescribeLogDirsResponse_v1
    SCHEMA = Schema(("topics", Array(("topic", String("utf-8")), ("partitions", Array(Int32)))))


def send(admin, node_id, request):
    """The decoded response of `request` sent to broker `node_id` through kafka-python's client."""
    future = admin._send_request_to_node(node_id, request)
    admin._wait_for_futures([future])
    check(future.succeeded(), f"{type(request).__name__} to node {node_id} failed: {future.exception!r}")
    return future.value


def alter(admin, node_id, resource_type, name, configs, validate_only=False):
    """IncrementalAlterConfigs of one resource: (error_code, error_message)."""
    response = send(admin, node_id, IncrementalAlterConfigsRequest_v0([(resource_type, name, configs)], validate_only))
    check_eq(len(response.responses), 1, "IncrementalAlterConfigs results")
    error_code, error_message, _, resource_name = response.responses[0]
    check_eq(resource_name, name, "IncrementalAlterConfigs resource name")
    return error_code, error_message


def topic_configs(admin):
    """The topic's {name: (value, source)} from kafka-python's describe_configs (v1: kafka-python
    names the source byte is_default and reads it as a bool, so only the value is used)."""
    responses = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, TOPIC)], include_synonyms=True)
    entries = responses[0].resources[0][4]
    return {e[0]: (e[1], e[3]) for e in entries}


def incremental_alter(admin, broker_ids):
    with step("IncrementalAlterConfigs v0: SET, APPEND, DELETE, a bad value, validate_only"):
        node = broker_ids[0]
        original = topic_configs(admin)["retention.ms"][0]
        check_eq(alter(admin, node, TOPIC_RESOURCE, TOPIC, [("retention.ms", SET, "3600000")]), (NONE, None),
                 "SET retention.ms")
        wait_until(lambda: topic_configs(admin)["retention.ms"][0] == "3600000", 10, "retention.ms after SET")
        check_eq(alter(admin, node, TOPIC_RESOURCE, TOPIC, [("cleanup.policy", APPEND, "compact")])[0], NONE,
                 "APPEND compact to cleanup.policy")
        wait_until(lambda: topic_configs(admin)["cleanup.policy"][0] == "delete,compact", 10,
                   "cleanup.policy after APPEND")
        error_code, message = alter(admin, node, TOPIC_RESOURCE, TOPIC, [("retention.ms", SET, "soon")])
        check_eq(error_code, INVALID_CONFIG, "SET retention.ms=soon")
        check("retention.ms" in (message or ""), f"the error names the key: {message!r}")
        check_eq(alter(admin, node, TOPIC_RESOURCE, TOPIC, [("retention.ms", SET, "60000")], validate_only=True),
                 (NONE, None), "validate_only SET")
        check_eq(topic_configs(admin)["retention.ms"][0], "3600000", "retention.ms after a bad value and validate_only")
        check_eq(alter(admin, node, TOPIC_RESOURCE, TOPIC, [("retention.ms", DELETE, None)])[0], NONE,
                 "DELETE retention.ms")
        wait_until(lambda: topic_configs(admin)["retention.ms"][0] == original, 10, "retention.ms back to the broker's")

    with step("IncrementalAlterConfigs v0: a dynamic broker default for every broker"):
        check_eq(alter(admin, broker_ids[-1], BROKER_RESOURCE, "", [("log.retention.ms", SET, "7200000")]),
                 (NONE, None), "SET log.retention.ms on the cluster default")
        wait_until(lambda: topic_configs(admin)["retention.ms"][0] == "7200000", 10,
                   "the topic's retention.ms to follow the broker default")
        check_eq(alter(admin, broker_ids[0], BROKER_RESOURCE, "", [("log.retention.ms", DELETE, None)])[0], NONE,
                 "DELETE log.retention.ms")


def elect(admin, node_id, election_type, partitions):
    """ElectLeaders v1 of TOPIC's `partitions`: {partition: error_code}."""
    response = send(admin, node_id, ElectLeadersRequest_v1(election_type, [(TOPIC, partitions)], 30000))
    check_eq(response.error_code, NONE, "ElectLeaders top-level error")
    results = {}
    for topic, partition_results in response.replica_election_results:
        check_eq(topic, TOPIC, "ElectLeaders topic")
        for partition, error_code, _ in partition_results:
            results[partition] = error_code
    return results


def partition_md(nodes, partition):
    """TOPIC's `partition` in the Metadata of the first running node that has it:
    (error, leader, replicas, isr), or None. A node just restarted may answer before it knows it."""
    for node in nodes:
        if node.running():
            md = try_metadata(node.port, [TOPIC], ordered=True)
            if md and TOPIC in md["topics"] and partition in md["topics"][TOPIC]["partitions"]:
                return md["topics"][TOPIC]["partitions"][partition]
    return None


def leader_of(nodes, partition):
    md = partition_md(nodes, partition)
    return md[1] if md else None


def isr_of(nodes, partition):
    md = partition_md(nodes, partition)
    return sorted(md[3]) if md else None


def elect_leaders(admin, nodes):
    with step("ElectLeaders v1: preferred leader already leads; an unknown partition"):
        check_eq(leader_of(nodes, 0), nodes[0].node_id, "partition 0's leader is its preferred replica")
        check_eq(elect(admin, nodes[0].node_id, 0, [0, 7]), {0: ELECTION_NOT_NEEDED, 7: UNKNOWN_TOPIC_OR_PARTITION},
                 "ElectLeaders of partitions 0 and 7")
    if len(nodes) == 1:
        return
    with step("ElectLeaders v1: the preferred leader killed, restarted, back in the ISR, elected again"):
        first = nodes[0]
        first.kill9()
        wait_until(lambda: leader_of(nodes, 0) not in (None, first.node_id), 30, "a new leader for partition 0")
        log(f"partition 0 led by node {leader_of(nodes, 0)} while node {first.node_id} is down")
        first.restart()
        wait_until(lambda: isr_of(nodes, 0) == sorted(n.node_id for n in nodes), 60, "node 1 back in the ISR")
        check(leader_of(nodes, 0) != first.node_id, "nothing else moved the leader back (auto rebalance is off)")
        check_eq(elect(admin, nodes[1].node_id, 0, [0]), {0: NONE}, "preferred election of partition 0")
        wait_until(lambda: leader_of(nodes, 0) == first.node_id, 15, "node 1 to lead partition 0 again")


def log_dirs(admin, node_id):
    """DescribeLogDirs v1 of every log dir of `node_id`: {log_dir: {partition: size}} for TOPIC."""
    response = send(admin, node_id, DescribeLogDirsRequest_v1(None))
    out = {}
    for error_code, log_dir, topics in response.results:
        check_eq(error_code, NONE, f"DescribeLogDirs error of {log_dir}")
        out[log_dir] = {p[0]: p[1] for name, partitions in topics if name == TOPIC for p in partitions}
    return out


def describe_log_dirs(admin, nodes, bootstrap):
    with step("DescribeLogDirs v1: every node's log dir, the topic's partitions, sizes that grow"):
        before = {n.node_id: log_dirs(admin, n.node_id) for n in nodes}
        for node in nodes:
            dirs = before[node.node_id]
            check_eq(len(dirs), 1, f"node {node.node_id}'s log dirs")
            log_dir = next(iter(dirs))
            check(log_dir.startswith("/"), f"an absolute log dir path: {log_dir!r}")
            check_eq(sorted(dirs[log_dir]), [0, 1], f"node {node.node_id}'s partitions of {TOPIC}")
        produce(bootstrap, TOPIC, records(40, "ld", int(time.time() * 1000)), acks="all")
        for node in nodes:
            def grew(n=node):
                (sizes,) = log_dirs(admin, n.node_id).values()
                (old,) = before[n.node_id].values()
                return sum(sizes.values()) > sum(old.values())
            wait_until(grew, 15, f"node {node.node_id}'s partition sizes to grow")


def run(ctx):
    mode = sys.argv[2] if len(sys.argv) > 2 else "single"
    if mode == "cluster":
        from test_cluster import start_cluster  # noqa: E402
        nodes = start_cluster(ctx, extra={"auto.leader.rebalance.enable": "false"})
        for node in nodes:
            wait_until(lambda n=node: (md := try_metadata(n.port)) and sorted(md["brokers"]) == [1, 2, 3], 30,
                       f"node {node.node_id} to list three brokers")
    else:
        broker = ctx.broker(num_partitions=1, auto_create=False)
        broker.node_id = 1
        nodes = [broker]
    broker_ids = [n.node_id for n in nodes]
    bootstrap = [n.bootstrap for n in nodes]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="keel-it-admin", request_timeout_ms=30000)
    ctx.on_cleanup(admin.close)
    # Preferred replica of partition 0 is node 1, of partition 1 the last node.
    assignment = {0: broker_ids, 1: broker_ids[::-1]}
    admin.create_topics([NewTopic(TOPIC, -1, -1, replica_assignments=assignment)])
    for node in nodes:
        wait_until(lambda n=node: leader_of([n], 1) == broker_ids[-1], 15, f"node {node.node_id} to see {TOPIC}")
    incremental_alter(admin, broker_ids)
    describe_log_dirs(admin, nodes, bootstrap)
    elect_leaders(admin, nodes)


if __name__ == "__main__":
    main(run)
    os._exit(0)
