"""kcat (librdkafka 2.0.2) against a real keel: metadata listing, 10,000 keyed messages produced and
consumed back with their content and per-key order checked, then the same with each compression
codec, checking on disk which codec the batches really carry."""

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import api_versions, check, check_eq, kcat, librdkafka_codec_used, log, main, step  # noqa: E402

PARTITIONS = 4
KEYED_MESSAGES = 10_000
CODEC_MESSAGES = 2_000
KEYS = 97


def make_messages(count, tag):
    """(key, value) pairs; each value carries its key and its sequence number within that key."""
    per_key = {}
    out = []
    for i in range(count):
        key = f"k{i % KEYS:03d}"
        seq = per_key.get(key, 0)
        per_key[key] = seq + 1
        # Repetitive padding so the codecs have something to compress; no ':' (the key delimiter),
        # tabs or newlines (the consume format's separators).
        value = f"{tag}-{key}-{seq:05d}-" + "payload-" * (i % 9 + 1)
        out.append((key, value))
    return out


def produce(broker, topic, messages, *extra):
    lines = "".join(f"{k}:{v}\n" for k, v in messages).encode()
    kcat("-b", broker.bootstrap, "-P", "-t", topic, "-K", ":", "-X", "message.timeout.ms=20000",
         "-X", "linger.ms=5", *extra, input_bytes=lines)


def consume(broker, topic, fmt="%p\t%o\t%k\t%s\n"):
    done = kcat("-b", broker.bootstrap, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
                "-X", "fetch.wait.max.ms=100", "-f", fmt)
    return [line.split("\t") for line in done.stdout.decode().splitlines()]


def check_consumed(rows, sent, what):
    """rows: [partition, offset, key, value, ...] as kcat printed them. Every sent message comes back
    exactly once, each partition's offsets run 0, 1, 2, ..., all messages of one key sit in one
    partition and come back in the order they were sent."""
    check_eq(len(rows), len(sent), f"{what}: number of consumed messages")
    got = sorted((r[2], r[3]) for r in rows)
    check(got == sorted(sent), f"{what}: consumed (key, value) pairs differ from the produced ones; "
                               f"first differences: {[(g, w) for g, w in zip(got, sorted(sent)) if g != w][:5]}")
    by_partition = {}
    for r in rows:
        by_partition.setdefault(int(r[0]), []).append((int(r[1]), r[2], r[3]))
    partition_of_key = {}
    for p, recs in sorted(by_partition.items()):
        check(0 <= p < PARTITIONS, f"{what}: record from partition {p}")
        offsets = [o for o, _, _ in recs]
        check_eq(offsets, list(range(len(recs))), f"{what}: offsets of partition {p}")
        for _, key, _ in recs:
            check_eq(partition_of_key.setdefault(key, p), p, f"{what}: partition of key {key}")
    sent_by_key = {}
    for key, value in sent:
        sent_by_key.setdefault(key, []).append(value)
    for p, recs in sorted(by_partition.items()):
        got_by_key = {}
        for _, key, value in recs:
            got_by_key.setdefault(key, []).append(value)
        for key, values in got_by_key.items():
            check(values == sent_by_key[key], f"{what}: per-key order of {key} in partition {p} differs: "
                                              f"{values[:5]} vs sent {sent_by_key[key][:5]}")
    log(f"{what}: {len(rows)} messages over partitions "
        f"{ {p: len(r) for p, r in sorted(by_partition.items())} } match, per-key order kept")


def metadata(broker, topic=None):
    args = ["-b", broker.bootstrap, "-L", "-J"] + (["-t", topic] if topic else [])
    return json.loads(kcat(*args).stdout)


def run(ctx):
    broker = ctx.broker(num_partitions=PARTITIONS)

    with step("kcat -L lists the broker"):
        text = kcat("-b", broker.bootstrap, "-L").stdout.decode()
        check("1 brokers:" in text, f"kcat -L does not list one broker:\n{text}")
        check(f"broker 1 at 127.0.0.1:{broker.port}" in text, f"kcat -L does not show broker 1 at {broker.bootstrap}:\n{text}")
        md = metadata(broker)
        check_eq([(b["id"], b["name"]) for b in md["brokers"]], [(1, broker.bootstrap)], "brokers in kcat -L -J")

    topic = "kcat-keyed"
    sent = make_messages(KEYED_MESSAGES, "keyed")
    with step(f"kcat -P: {KEYED_MESSAGES} keyed messages to {topic} (auto-created, {PARTITIONS} partitions)"):
        produce(broker, topic, sent, "-H", "origin=kcat")

    with step("kcat -L shows the topic with its partitions led by broker 1"):
        md = metadata(broker, topic)
        topics = {t["topic"]: t for t in md["topics"]}
        check(topic in topics, f"topic {topic} missing from kcat -L -J: {md}")
        t = topics[topic]
        check("error" not in t, f"topic {topic} has an error in metadata: {t}")
        check_eq(sorted(p["partition"] for p in t["partitions"]), list(range(PARTITIONS)), f"partitions of {topic}")
        for p in t["partitions"]:
            check_eq(p["leader"], 1, f"leader of {topic}-{p['partition']}")
        text = kcat("-b", broker.bootstrap, "-L", "-t", topic).stdout.decode()
        check(f'topic "{topic}" with {PARTITIONS} partitions' in text, f"kcat -L -t {topic}:\n{text}")

    with step(f"kcat -C: consume {topic} back and compare content and per-key order"):
        rows = consume(broker, topic, "%p\t%o\t%k\t%s\t%h\n")
        check_consumed(rows, sent, topic)
        bad_headers = [r for r in rows if r[4] != "origin=kcat"]
        check(not bad_headers, f"headers not kept: {bad_headers[:3]}")

    # Which codecs can kcat use with this broker? librdkafka 2.0.2 decides from ApiVersions (see
    # keel_it.librdkafka_codec_used): it compresses with gzip, snappy or lz4 only when the broker
    # lists Produce from v0 (lz4 also wants FindCoordinator), and with zstd when it lists Produce 7
    # and Fetch 10. Keel lists Produce from v0 and refuses v0-v2 when they come, as Kafka 4 does
    # since KAFKA-18659 (for this very librdkafka check), so every codec must go out as asked and be
    # stored as sent. The expectation is computed from what the broker advertises and must equal the
    # codec asked for: a change in the advertised ranges that makes librdkafka fall back to
    # uncompressed batches fails here.
    apis = api_versions(broker.port)
    log("advertised: " + ", ".join(f"{k}:{lo}-{hi}" for k, (lo, hi) in sorted(apis.items())))
    for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
        topic = f"kcat-codec-{codec}"
        expected = librdkafka_codec_used(apis, codec)
        check_eq(expected, codec, f"the codec librdkafka 2.0.2 will send for -z {codec}, given what keel advertises")
        with step(f"kcat -P -z {codec} (librdkafka will send {expected}), consume back, check the stored batches"):
            sent = make_messages(CODEC_MESSAGES, codec)
            produce(broker, topic, sent, "-z", codec)
            check_consumed(consume(broker, topic), sent, topic)
            stored = {}
            for p in range(PARTITIONS):
                for batch in broker.batches_on_disk(topic, p):
                    stored[batch.codec] = stored.get(batch.codec, 0) + 1
            # librdkafka sends a batch uncompressed when compressing made it larger (a batch of one
            # short message, say: rdkafka_msgset_writer.c, rd_kafka_msgset_writer_compress), so a
            # few "none" batches may sit among the compressed ones.
            check(stored.get(expected, 0) > 0 and set(stored) <= {expected, "none"},
                  f"codecs of the batches stored for {topic}: {stored}, want {expected} (and maybe some none)")
            log(f"{topic}: stored batches per codec: {stored}")

    broker.stop()


if __name__ == "__main__":
    main(run, budget_s=100)
