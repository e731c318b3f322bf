"""Topic configs against a real keel, with real clients: every Kafka 4 topic config described with
its source and synonyms; compression.type set at creation (and changed later) recompresses what an
uncompressed producer sends; AlterConfigs replaces a topic's configs and a bad value is refused
naming the key. kafka-python 2.0.2 (create_topics, describe_configs with synonyms, alter_configs)
and confluent-kafka-python (Debian's 1.7.0 on librdkafka 2.0.2: describe_configs, alter_configs;
it has no incremental_alter_configs, which came in 2.2.0, so that call is tested in the simulator).

Usage: test_topic_configs.py path/to/keel {kafka-python|confluent}"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, log, main, step  # noqa: E402

# Every topic config Kafka 4 defines.
KAFKA4_TOPIC_CONFIGS = sorted([
    "cleanup.policy", "compression.gzip.level", "compression.lz4.level", "compression.type", "compression.zstd.level",
    "delete.retention.ms", "file.delete.delay.ms", "flush.messages", "flush.ms", "follower.replication.throttled.replicas",
    "index.interval.bytes", "leader.replication.throttled.replicas", "local.retention.bytes", "local.retention.ms",
    "max.compaction.lag.ms", "max.message.bytes", "message.timestamp.after.max.ms", "message.timestamp.before.max.ms",
    "message.timestamp.type", "min.cleanable.dirty.ratio", "min.compaction.lag.ms", "min.insync.replicas", "preallocate",
    "remote.log.copy.disable", "remote.log.delete.on.disable", "remote.storage.enable", "retention.bytes", "retention.ms",
    "segment.bytes", "segment.index.bytes", "segment.jitter.ms", "segment.ms", "unclean.leader.election.enable"])

TOPIC_CONFIG = 1      # DescribeConfigs ConfigSource values
DYNAMIC_DEFAULT_BROKER = 3
STATIC_BROKER = 4
DEFAULT_CONFIG = 5
INVALID_CONFIG = 40   # Kafka's error codes
INVALID_REQUEST = 42


def codecs_on_disk(broker, topic):
    return sorted({b.codec for b in broker.batches_on_disk(topic, 0)})


def run_kafka_python(ctx):
    from kafka import KafkaAdminClient
    from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
    from kp_util import compare, consume, produce, records
    broker = ctx.broker(auto_create=False, props={"log.retention.hours": 48})
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-it-configs", request_timeout_ms=10000)
    ctx.on_cleanup(admin.close)
    topic = "tc-zip"
    base_ts = int(time.time() * 1000) - 60_000

    def describe():
        [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)], include_synonyms=True)
        [resource] = response.resources
        check_eq(resource[0], 0, f"describe_configs error code (message {resource[1]!r})")
        return {e[0]: e for e in resource[4]}

    with step("create_topics with compression.type=gzip and configs Keel only stores"):
        configs = {"compression.type": "gzip", "cleanup.policy": "compact,delete", "remote.storage.enable": "false",
                   "min.cleanable.dirty.ratio": "0.3", "segment.jitter.ms": "1000", "max.message.bytes": "500000"}
        response = admin.create_topics([NewTopic(topic, 1, 1, topic_configs=configs)])
        check(all(e[1] == 0 for e in response.topic_errors), f"create_topics errors: {response.topic_errors}")

    with step("an uncompressed producer's batches are stored gzip, and read back"):
        sent = produce(broker.bootstrap, topic, records(300, "zip", base_ts), acks="all", flush_every=50)
        compare(sent, consume(broker.bootstrap, topic, 1, len(sent)), topic)
        check_eq(codecs_on_disk(broker, topic), ["gzip"], "codecs stored for a compression.type=gzip topic")

    with step("describe_configs (v1, synonyms): every Kafka 4 topic config, its source and synonyms"):
        entries = describe()
        check_eq(sorted(entries), KAFKA4_TOPIC_CONFIGS, "topic configs described")
        # (name, value, read_only, source, is_sensitive, synonyms)
        check_eq(entries["compression.type"][1:4], ("gzip", False, TOPIC_CONFIG), "compression.type")
        check_eq(entries["cleanup.policy"][1], "compact,delete", "cleanup.policy")
        check_eq(entries["retention.ms"][1:4], ("172800000", False, STATIC_BROKER), "retention.ms from log.retention.hours")
        check_eq([tuple(s) for s in entries["retention.ms"][5]],
                 [("log.retention.hours", "48", STATIC_BROKER), ("log.retention.hours", "168", DEFAULT_CONFIG)],
                 "retention.ms synonyms")
        check_eq([tuple(s) for s in entries["compression.type"][5]],
                 [("compression.type", "gzip", TOPIC_CONFIG), ("compression.type", "producer", DEFAULT_CONFIG)],
                 "compression.type synonyms")
        check_eq(entries["remote.storage.enable"][1:4], ("false", False, TOPIC_CONFIG), "remote.storage.enable")

    with step("alter_configs replaces the topic's configs: lz4 from now on, the rest back to the broker's"):
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"compression.type": "lz4",
                                                                            "retention.ms": "7200000"})
        [response] = [admin.alter_configs([resource])]
        check_eq(response.resources[0][0], 0, f"alter_configs error (message {response.resources[0][1]!r})")
        entries = describe()
        check_eq(entries["compression.type"][1:4], ("lz4", False, TOPIC_CONFIG), "compression.type after alter")
        check_eq(entries["retention.ms"][1:4], ("7200000", False, TOPIC_CONFIG), "retention.ms after alter")
        check_eq(entries["cleanup.policy"][1:4], ("delete", False, DEFAULT_CONFIG), "cleanup.policy after alter")
        more = produce(broker.bootstrap, topic, records(100, "lz4", base_ts), acks="all")
        check_eq(codecs_on_disk(broker, topic), ["gzip", "lz4"], "codecs stored before and after the alter")
        compare(sent + more, consume(broker.bootstrap, topic, 1, len(sent) + len(more)), topic)

    with step("alter_configs with a bad value: INVALID_CONFIG naming the key and the value; nothing changes"):
        resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": "soon"})
        response = admin.alter_configs([resource])
        check_eq(response.resources[0][0], INVALID_CONFIG, "alter_configs error code for retention.ms=soon")
        message = response.resources[0][1] or ""
        check("retention.ms" in message and "soon" in message, f"error message names the key and value: {message!r}")
        check_eq(describe()["retention.ms"][1], "7200000", "retention.ms after a refused alter")
        log(f"refused: {message}")

    with step("alter_configs on the brokers' default: log.retention.ms applies to topics without their own"):
        admin.create_topics([NewTopic("tc-plain", 1, 1)])
        response = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "", configs={"log.retention.ms": "3600000"})])
        check_eq(response.resources[0][0], 0, f"alter_configs on the broker default (message {response.resources[0][1]!r})")
        [response] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "tc-plain")], include_synonyms=True)
        entries = {e[0]: e for e in response.resources[0][4]}
        check_eq(entries["retention.ms"][1:4], ("3600000", False, DYNAMIC_DEFAULT_BROKER), "retention.ms from the dynamic default")
        check_eq([tuple(s) for s in entries["retention.ms"][5]][:2],
                 [("log.retention.ms", "3600000", DYNAMIC_DEFAULT_BROKER), ("log.retention.hours", "48", STATIC_BROKER)],
                 "retention.ms synonyms with the dynamic default first")
        check_eq(describe()["retention.ms"][1], "7200000", "a topic's own retention.ms still wins")
        response = admin.alter_configs([ConfigResource(ConfigResourceType.BROKER, "", configs={"num.partitions": "3"})])
        check_eq(response.resources[0][0], INVALID_REQUEST, "a broker key that cannot change at run time")
        log(f"refused: {response.resources[0][1]}")


def run_confluent(ctx):
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
    broker = ctx.broker(auto_create=False)
    admin = AdminClient({"bootstrap.servers": broker.bootstrap})
    topic = "tc-confluent"

    def describe():
        [future] = admin.describe_configs([ConfigResource("topic", topic)]).values()
        return future.result(timeout=20)

    with step("create_topics with compression.type=zstd; an uncompressed producer's batches are stored zstd"):
        [future] = admin.create_topics([NewTopic(topic, 1, 1, config={"compression.type": "zstd"})]).values()
        future.result(timeout=20)
        p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "none", "linger.ms": 5})
        for i in range(200):
            p.produce(topic, f"value-{i}".encode())
        check_eq(p.flush(20), 0, "records left unflushed")
        check_eq(codecs_on_disk(broker, topic), ["zstd"], "codecs stored")

    with step("describe_configs: every Kafka 4 topic config with its source"):
        entries = describe()
        check_eq(sorted(entries), KAFKA4_TOPIC_CONFIGS, "topic configs described")
        check_eq((entries["compression.type"].value, int(entries["compression.type"].source)), ("zstd", TOPIC_CONFIG),
                 "compression.type")
        check_eq(int(entries["segment.bytes"].source), DEFAULT_CONFIG, "segment.bytes source")

    with step("alter_configs: retention.ms and cleanup.policy set, compression.type back to the default"):
        resource = ConfigResource("topic", topic, set_config={"retention.ms": "3600000", "cleanup.policy": "compact"})
        [future] = admin.alter_configs([resource]).values()
        future.result(timeout=20)
        entries = describe()
        check_eq((entries["retention.ms"].value, int(entries["retention.ms"].source)), ("3600000", TOPIC_CONFIG),
                 "retention.ms after alter")
        check_eq(entries["cleanup.policy"].value, "compact", "cleanup.policy after alter")
        check_eq((entries["compression.type"].value, int(entries["compression.type"].source)),
                 ("producer", DEFAULT_CONFIG), "compression.type after alter")

    with step("alter_configs with a bad value is refused naming the key"):
        resource = ConfigResource("topic", topic, set_config={"segment.ms": "0"})
        [future] = admin.alter_configs([resource]).values()
        try:
            future.result(timeout=20)
            raise AssertionError("alter_configs segment.ms=0 succeeded")
        except AssertionError:
            raise
        except Exception as e:  # noqa: BLE001 (KafkaException)
            check("segment.ms" in str(e), f"error names segment.ms: {e}")
            log(f"refused: {e}")


if __name__ == "__main__":
    modes = {"kafka-python": run_kafka_python, "confluent": run_confluent}
    mode = sys.argv.pop(2) if len(sys.argv) > 2 else "kafka-python"
    main(modes[mode], budget_s=100)
