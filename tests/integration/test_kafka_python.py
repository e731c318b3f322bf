"""kafka-python 2.0.2 (Debian's python3-kafka) against a real keel: admin create/duplicate/bad
topics, a keyed producer with acks=all, a consumer with assign() + seek_to_beginning(), ListOffsets
by timestamp (offsets_for_times), describe_configs, batches of each codec, acks=0, delete_topics."""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, expect_error, log, main, step  # noqa: E402

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402
from kafka import codec  # noqa: E402
from kafka import errors as kafka_errors  # noqa: E402
from kp_util import compare, consume, consume_all, produce, records  # noqa: E402

PARTITIONS = 3
MESSAGES = 3000
TOPIC_CONFIG_SOURCE = 1  # DescribeConfigs ConfigSource: a config set on the topic itself



def run(ctx):
    broker = ctx.broker(num_partitions=1, auto_create=False)
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-it-admin", request_timeout_ms=10000)
    ctx.on_cleanup(admin.close)
    topic = "kp-events"

    with step("admin: create_topics, then a duplicate and invalid topics fail with Kafka's errors"):
        response = admin.create_topics([NewTopic(topic, PARTITIONS, 1, topic_configs={"retention.ms": "86400000"})])
        check(all(e[1] == 0 for e in response.topic_errors), f"create_topics errors: {response.topic_errors}")
        check(topic in admin.list_topics(), f"{topic} not in list_topics(): {admin.list_topics()}")
        expect_error(lambda: admin.create_topics([NewTopic(topic, PARTITIONS, 1)]),
                     kafka_errors.TopicAlreadyExistsError, "duplicate create_topics")
        expect_error(lambda: admin.create_topics([NewTopic("kp-zero", 0, 1)]),
                     kafka_errors.InvalidPartitionsError, "create_topics with 0 partitions")
        expect_error(lambda: admin.create_topics([NewTopic("kp-rf3", 1, 3)]),
                     kafka_errors.InvalidReplicationFactorError, "create_topics with replication factor 3 on one broker")
        expect_error(lambda: admin.create_topics([NewTopic("kp-badcfg", 1, 1, topic_configs={"retention.ms": "soon"})]),
                     kafka_errors.InvalidConfigurationError, "create_topics with retention.ms=soon")
        check("kp-zero" not in admin.list_topics() and "kp-badcfg" not in admin.list_topics(),
              f"a refused topic was created anyway: {admin.list_topics()}")

    base_ts = int(time.time() * 1000) - 3_600_000
    with step(f"KafkaProducer acks='all': {MESSAGES} keyed records with timestamps"):
        sent = produce(broker.bootstrap, topic, records(MESSAGES, "event", base_ts), acks="all")
        check_eq(sorted({s.partition for s in sent}), list(range(PARTITIONS)), "partitions the keyed records went to")

    with step("KafkaConsumer assign() + seek_to_beginning(): every record back, in order"):
        got, consumer = consume_all(broker.bootstrap, topic, PARTITIONS, MESSAGES)
        ctx.on_cleanup(lambda: consumer.close(autocommit=False))
        compare(sent, got, topic)

    with step("ListOffsets: beginning/end offsets and offsets_for_times"):
        tps = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        counts = {p: sum(1 for s in sent if s.partition == p) for p in range(PARTITIONS)}
        check_eq(consumer.beginning_offsets(tps), {tp: 0 for tp in tps}, "beginning_offsets")
        check_eq(consumer.end_offsets(tps), {tp: counts[tp.partition] for tp in tps}, "end_offsets")
        for p in range(PARTITIONS):
            stored = sorted((s.offset, s.ts) for s in sent if s.partition == p)
            for query, want in ((0, stored[0]), (stored[0][1], stored[0]),
                                (stored[len(stored) // 2][1] - 5, stored[len(stored) // 2]),
                                (stored[-1][1], stored[-1])):
                tp = TopicPartition(topic, p)
                answer = consumer.offsets_for_times({tp: query})[tp]
                check(answer is not None and (answer.offset, answer.timestamp) == want,
                      f"offsets_for_times({p}, {query}) = {answer}, want offset/timestamp {want}")
            tp = TopicPartition(topic, p)
            answer = consumer.offsets_for_times({tp: stored[-1][1] + 1})[tp]
            check(answer is None, f"offsets_for_times past the newest record of partition {p} = {answer}, want None")

    with step("describe_configs: the topic's override and the broker"):
        [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.resources
        check_eq(resource[0], 0, f"describe_configs error code (message {resource[1]!r})")
        entries = {e[0]: e for e in resource[4]}
        check(len(entries) >= 5, f"too few topic configs described: {sorted(entries)}")
        check("retention.ms" in entries, f"retention.ms not described: {sorted(entries)}")
        check_eq((entries["retention.ms"][1], entries["retention.ms"][3]), ("86400000", TOPIC_CONFIG_SOURCE),
                 "retention.ms value and config source")
        log(f"topic configs: {sorted(entries)}")
        [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "kp-missing")])
        check_eq(response.resources[0][0], kafka_errors.UnknownTopicOrPartitionError.errno,
                 "describe_configs error code of a missing topic")
        [response] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, "1")])
        check_eq(response.resources[0][0], 0, "describe_configs error code of broker 1")
        check(len(response.resources[0][4]) > 0, "broker 1 has no configs described")

    # Each codec from kafka-python too (test_kcat.py does the same with librdkafka), with Debian's
    # python3-snappy / python3-lz4 / python3-zstandard (scripts/install-deps.sh installs them; a
    # missing one fails the test).
    available = {"gzip": codec.has_gzip(), "snappy": codec.has_snappy(), "lz4": codec.has_lz4(), "zstd": codec.has_zstd()}
    for name, present in available.items():
        check(present, f"kafka-python cannot use {name}: run scripts/install-deps.sh (python3-{name} module missing)")
        with step(f"{name} batches from KafkaProducer are stored as {name} and consumed back"):
            admin.create_topics([NewTopic(f"kp-{name}", 1, 1)])
            sent_codec = produce(broker.bootstrap, f"kp-{name}", records(500, name, base_ts), acks=1,
                                 compression_type=name)
            compare(sent_codec, consume(broker.bootstrap, f"kp-{name}", 1, len(sent_codec)), f"kp-{name}")
            codecs = sorted({b.codec for b in broker.batches_on_disk(f"kp-{name}", 0)})
            check_eq(codecs, [name], f"codecs of the batches stored for kp-{name}")

    with step("acks=0: records arrive although the broker sends no reply"):
        admin.create_topics([NewTopic("kp-acks0", 1, 1)])
        sent0 = produce(broker.bootstrap, "kp-acks0", records(200, "acks0", base_ts), acks=0)
        compare(sent0, consume(broker.bootstrap, "kp-acks0", 1, len(sent0)), "kp-acks0", acks_none=True)

    with step("invalid topic names and validate_only"):
        for name in ("bad/name", "..", "x" * 250, ""):
            expect_error(lambda: admin.create_topics([NewTopic(name, 1, 1)]), kafka_errors.InvalidTopicError,
                         f"create_topics {name[:12]!r}")
        response = admin.create_topics([NewTopic("kp-validate-only", 1, 1)], validate_only=True)
        check(all(e[1] == 0 for e in response.topic_errors), f"validate_only errors: {response.topic_errors}")
        check("kp-validate-only" not in admin.list_topics(), "validate_only created the topic")

    with step("null and empty keys and values, headers, a record too large, an offset out of range"):
        admin.create_topics([NewTopic("kp-edge", 1, 1)])
        producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, max_request_size=4_000_000)
        ctx.on_cleanup(lambda: producer.close(timeout=1))
        futures = [producer.send("kp-edge", key=b"tombstone", value=None),
                   producer.send("kp-edge", key=None, value=b"v", headers=[("h1", b"x"), ("h2", b"")]),
                   producer.send("kp-edge", key=b"", value=b"")]
        offsets = [f.get(timeout=10).offset for f in futures]
        check_eq(offsets, [0, 1, 2], "offsets of the edge records")
        expect_error(lambda: producer.send("kp-edge", value=b"x" * 2_000_000).get(timeout=10),
                     kafka_errors.MessageSizeTooLargeError, "a 2 MB record (above max.message.bytes)")
        producer.close(timeout=5)
        got, edge_consumer = consume_all(broker.bootstrap, "kp-edge", 1, 3)
        ctx.on_cleanup(lambda: edge_consumer.close(autocommit=False))
        check_eq([(r.offset, r.key, r.value, r.headers) for r in got],
                 [(0, b"tombstone", None, []), (1, None, b"v", [("h1", b"x"), ("h2", b"")]), (2, b"", b"", [])],
                 "edge records consumed back")
        tp = TopicPartition("kp-edge", 0)
        edge_consumer.seek(tp, 100)
        # OFFSET_OUT_OF_RANGE, and auto_offset_reset=earliest starts over from offset 0.
        again = []
        deadline = time.monotonic() + 10
        while len(again) < 3 and time.monotonic() < deadline:
            for batch in edge_consumer.poll(timeout_ms=200).values():
                again.extend(batch)
        check_eq([r.offset for r in again], [0, 1, 2], "offsets polled after seeking past the end (reset to earliest)")

    with step("a fetch waiting on the broker (fetch.max.wait 5 s) is answered as soon as a record arrives"):
        waiter = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                               fetch_max_wait_ms=5000)
        ctx.on_cleanup(lambda: waiter.close(autocommit=False))
        tp = TopicPartition("kp-edge", 0)
        waiter.assign([tp])
        waiter.seek_to_end(tp)
        waiter.poll(timeout_ms=300)  # the first fetch is now parked on the broker
        late = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1, linger_ms=0)
        ctx.on_cleanup(lambda: late.close(timeout=1))
        late.send("kp-edge", value=b"warm-up", partition=0).get(timeout=10)  # connect before timing
        waiter.poll(timeout_ms=6000)
        sent_at = {}
        timer = threading.Timer(0.3, lambda: (sent_at.setdefault("t", time.monotonic()),
                                              late.send("kp-edge", value=b"late", partition=0)))
        timer.start()
        arrived = {}
        deadline = time.monotonic() + 8
        while not arrived and time.monotonic() < deadline:
            arrived = waiter.poll(timeout_ms=500)
        timer.join()
        check(arrived, "the record sent to a waiting fetch never arrived")
        delay = time.monotonic() - sent_at["t"]
        log(f"record reached the waiting consumer {delay * 1000:.1f} ms after it was sent")
        check(delay < 2.5, f"the waiting fetch was answered {delay:.2f} s after the record arrived "
                           f"(it should not wait out fetch.max.wait)")
        late.close(timeout=5)
        waiter.close(autocommit=False)

    with step("delete_topics: the topic disappears from metadata; deleting it again fails"):
        response = admin.delete_topics(["kp-acks0"])
        check(all(e[1] == 0 for e in response.topic_error_codes), f"delete_topics errors: {response.topic_error_codes}")
        check("kp-acks0" not in admin.list_topics(), f"kp-acks0 still listed: {admin.list_topics()}")
        expect_error(lambda: admin.delete_topics(["kp-acks0"]), kafka_errors.UnknownTopicOrPartitionError,
                     "deleting a deleted topic")

    broker.stop()


if __name__ == "__main__":
    main(run, budget_s=100)
