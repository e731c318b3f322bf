"""A consumer group of kafka-python and confluent-kafka members on the three-node keel cluster keeps
consuming while the node that coordinates the group is SIGKILLed, and nothing acknowledged is left
unconsumed:

  1. start three combined nodes (test_cluster.start_cluster), __consumer_offsets with 3 partitions
     replicated three times; create a topic of 3 partitions, replication factor 3;
  2. produce a first half with acks=all; three members of one group (two kafka-python
     KafkaConsumers and one confluent-kafka Consumer, on librdkafka; manual commits after each
     poll; the range assignor, which both clients offer) start consuming;
  3. once they have committed, find the group's coordinator (abs(javaHash(group)) % 3 names the
     __consumer_offsets partition; its leader in Metadata is the coordinator), remember what the
     group has committed, and SIGKILL that node;
  4. produce the second half with acks=all (retrying through the failover);
  5. the group consumes every acknowledged record (at least once) and commits again through the
     new coordinator; the committed offsets read back from it are at least those committed before
     the kill.

Run as: test_group_failover.py path/to/keel
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, log, main, step, try_metadata, wait_until  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from test_cluster import bootstrap, live_metadata, partitions_settled, start_cluster  # noqa: E402

TOPIC = "group-failover"
GROUP = "keel-it-failover"
PARTITIONS = 3
OFFSETS_PARTITIONS = 3
HALF = 1500
BUDGET_S = 110


def java_hash(text):
    h = 0
    for ch in text:  # group ids here are ASCII: one UTF-16 unit per character, as Java hashes them
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def coordinator_id(nodes):
    """The node leading the group's __consumer_offsets partition, or None."""
    md = live_metadata(nodes, ["__consumer_offsets"])
    if md is None or "__consumer_offsets" not in md["topics"]:
        return None
    partition = abs(java_hash(GROUP)) % OFFSETS_PARTITIONS
    err, leader, _, _ = md["topics"]["__consumer_offsets"]["partitions"].get(partition, (-1, -1, None, None))
    return leader if err == 0 and leader >= 0 else None


def produce(nodes, start, count):
    """Sends values start..start+count-1 round-robin with acks=all; returns the acknowledged ones."""
    producer = KafkaProducer(bootstrap_servers=bootstrap(nodes), client_id="keel-it-group-producer", acks="all",
                             retries=1_000_000, retry_backoff_ms=100, linger_ms=5, request_timeout_ms=30_000,
                             max_block_ms=30_000, max_in_flight_requests_per_connection=1, reconnect_backoff_ms=50,
                             reconnect_backoff_max_ms=500, metadata_max_age_ms=1_000)
    futures = [(f"v-{i:06d}".encode(), producer.send(TOPIC, value=f"v-{i:06d}".encode(), partition=i % PARTITIONS))
               for i in range(start, start + count)]
    producer.flush(timeout=60)
    acked = set()
    for value, future in futures:
        try:
            future.get(timeout=1)
            acked.add(value)
        except Exception as e:  # noqa: BLE001 - not acknowledged: not owed to the group
            log(f"send of {value!r} failed: {type(e).__name__}: {e}")
    producer.close(timeout=5)
    return acked


class Member:
    """A KafkaConsumer of the group in its own thread: polls, then commits synchronously what it
    polled; a failed commit (the coordinator moving, a rebalance) is logged and the loop goes on."""

    def __init__(self, nodes, name):
        self.consumer = self.make_consumer(nodes, name)
        self.name = name
        self.lock = threading.Lock()
        self.consumed = set()
        self.commits_ok = 0
        self.commits_failed = 0
        self.assigned = 0  # partitions assigned, as of the last poll
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def make_consumer(nodes, name):
        return KafkaConsumer(TOPIC, bootstrap_servers=bootstrap(nodes), group_id=GROUP, client_id=name,
                             enable_auto_commit=False, auto_offset_reset="earliest",
                             session_timeout_ms=10_000, heartbeat_interval_ms=1_000,
                             request_timeout_ms=30_000, fetch_max_wait_ms=100, retry_backoff_ms=100,
                             reconnect_backoff_ms=50, reconnect_backoff_max_ms=500, metadata_max_age_ms=1_000)

    def start(self):
        self.thread.start()

    def poll_values(self):
        batches = self.consumer.poll(timeout_ms=200, max_records=20)
        return {r.value for batch in batches.values() for r in batch}

    def commit_now(self):
        self.consumer.commit()

    def close_consumer(self):
        self.consumer.close(autocommit=False)

    def _run(self):
        while not self.stop_flag.is_set():
            values = self.poll_values()
            assigned = len(self.consumer.assignment())
            with self.lock:
                self.consumed |= values
                self.assigned = assigned
            if not values:
                continue
            time.sleep(0.02)  # "processing": the first half takes seconds, so the kill lands mid-way
            try:
                self.commit_now()
                with self.lock:
                    self.commits_ok += 1
            except Exception as e:  # noqa: BLE001 - redelivered after the rebalance: at least once
                with self.lock:
                    self.commits_failed += 1
                log(f"{self.name}: commit failed: {type(e).__name__}: {e}")
        self.close_consumer()

    def snapshot(self):
        with self.lock:
            return set(self.consumed), self.commits_ok, self.commits_failed

    def assigned_count(self):
        with self.lock:
            return self.assigned

    def finish(self):
        self.stop_flag.set()
        self.thread.join(30)
        check(not self.thread.is_alive(), f"{self.name}: the consuming thread did not stop")


class ConfluentMember(Member):
    """The same loop with Debian's confluent-kafka (librdkafka 2.0.2): consume, then commit
    synchronously what was consumed."""

    @staticmethod
    def make_consumer(nodes, name):
        from confluent_kafka import Consumer
        consumer = Consumer({"bootstrap.servers": ",".join(bootstrap(nodes)), "group.id": GROUP, "client.id": name,
                             "enable.auto.commit": False, "auto.offset.reset": "earliest",
                             "partition.assignment.strategy": "range,roundrobin",
                             "session.timeout.ms": 10_000, "heartbeat.interval.ms": 1_000,
                             "fetch.wait.max.ms": 100, "reconnect.backoff.ms": 50,
                             "reconnect.backoff.max.ms": 500, "topic.metadata.refresh.interval.ms": 1_000})
        consumer.subscribe([TOPIC])
        return consumer

    def poll_values(self):
        return {m.value() for m in self.consumer.consume(num_messages=20, timeout=0.2) if m.error() is None}

    def commit_now(self):
        self.consumer.commit(asynchronous=False)

    def close_consumer(self):
        self.consumer.close()


def committed_offsets(nodes):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap(nodes), client_id="keel-it-offsets", request_timeout_ms=10_000)
    try:
        return {tp.partition: om.offset for tp, om in admin.list_consumer_group_offsets(GROUP).items()
                if tp.topic == TOPIC}
    finally:
        admin.close()


def run(ctx):
    with step("start three combined nodes and create the topic"):
        nodes = start_cluster(ctx, {"offsets.topic.num.partitions": OFFSETS_PARTITIONS,
                                    "offsets.topic.replication.factor": 3,
                                    "group.initial.rebalance.delay.ms": 500})
        for node in nodes:
            wait_until(lambda n=node: (md := try_metadata(n.port)) and sorted(md["brokers"]) == [1, 2, 3], 30,
                       f"{node.name} lists three brokers")
        admin = KafkaAdminClient(bootstrap_servers=bootstrap(nodes), client_id="keel-it-admin", request_timeout_ms=15000)
        response = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)], timeout_ms=15000)
        check(all(e[1] == 0 for e in response.topic_errors), f"create_topics errors: {response.topic_errors}")
        admin.close()
        wait_until(lambda: partitions_settled(nodes, [1, 2, 3], TOPIC, PARTITIONS), 30, "every partition settled")

    with step("produce a first half; three members of one group (kafka-python, confluent-kafka) consume and commit"):
        members = [Member(nodes, "kafka-python-0"), Member(nodes, "kafka-python-1"),
                   ConfluentMember(nodes, "confluent-0")]
        for m in members:
            m.start()
        ctx.on_cleanup(lambda: [m.stop_flag.set() for m in members])
        # All three in one generation first: a member that joined after the others had consumed
        # everything would have nothing to commit.
        wait_until(lambda: [m.assigned_count() for m in members] == [1, 1, 1], 60,
                   "one partition assigned to each member")
        acked = produce(nodes, 0, HALF)
        check(len(acked) == HALF, f"first half: {len(acked)} of {HALF} acknowledged")
        wait_until(lambda: all(m.snapshot()[1] >= 1 for m in members), 60, "a commit by each member")

    with step("SIGKILL the group coordinator's node"):
        victim_id = wait_until(lambda: coordinator_id(nodes), 20, "the group's coordinator in Metadata")
        before = wait_until(lambda: committed_offsets(nodes) or None, 20, "the group's committed offsets")
        commits_before = sum(m.snapshot()[1] for m in members)
        consumed_before = len(set().union(*(m.snapshot()[0] for m in members)))
        victim = next(n for n in nodes if n.node_id == victim_id)
        log(f"coordinator: node {victim_id}; committed before the kill: {before}; "
            f"{consumed_before} of {HALF} consumed")
        victim.kill9()
        killed_at = time.monotonic()

    with step("produce the second half through the failover"):
        acked |= produce(nodes, HALF, HALF)
        log(f"{len(acked)} acknowledged in all")

    with step("the group consumes every acknowledged record and commits through the new coordinator"):
        def all_consumed():
            consumed = set().union(*(m.snapshot()[0] for m in members))
            return not (acked - consumed)
        wait_until(all_consumed, 60, "every acknowledged record consumed by the group")
        wait_until(lambda: sum(m.snapshot()[1] for m in members) > commits_before + 2, 30,
                   "commits acknowledged after the kill")
        new_id = wait_until(lambda: coordinator_id(nodes), 20, "the group's new coordinator")
        check(new_id != victim_id, f"the coordinator is still node {victim_id}")
        after = wait_until(lambda: committed_offsets(nodes) or None, 20, "committed offsets from the new coordinator")
        for partition, offset in before.items():
            check(after.get(partition, -1) >= offset,
                  f"partition {partition}: committed {after.get(partition)} after the failover, {offset} before")
        log(f"failover took the group {time.monotonic() - killed_at:.1f} s to consume everything; "
            f"new coordinator node {new_id}; committed after: {after}; "
            f"commits failed: {sum(m.snapshot()[2] for m in members)}")
        for m in members:
            m.finish()


if __name__ == "__main__":
    main(run, budget_s=BUDGET_S)
