"""kafka-python helpers shared by the integration tests: send records and keep what the broker
acknowledged, consume partitions from the beginning with assign(), compare the two."""

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from keel_it import check, check_eq


class Sent:
    """One produced record and, once acknowledged, where the broker put it."""
    __slots__ = ("key", "value", "ts", "partition", "offset")

    def __init__(self, key, value, ts, partition=None):
        self.key = key
        self.value = value
        self.ts = ts
        self.partition = partition
        self.offset = None


def records(count, tag, base_ts, partitions=None, keys=50):
    """`count` records with keys, values that name them, timestamps base_ts + 10*i; with `partitions`
    they go round-robin to partitions 0..partitions-1, else the producer's partitioner picks."""
    out = []
    for i in range(count):
        key = f"user-{i % keys:02d}".encode()
        value = f"{tag}-{i:05d}-".encode() + bytes([65 + i % 26]) * (i % 200)
        out.append(Sent(key, value, base_ts + 10 * i, None if partitions is None else i % partitions))
    return out


def produce(bootstrap, topic, recs, flush_every=None, **config):
    """Sends `recs` and waits for every acknowledgement (fills in partition and offset; acks=0
    leaves offset -1). With flush_every, flushes after each group of that many records, so each
    group becomes its own batch per partition."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="keel-it-producer", linger_ms=5,
                             request_timeout_ms=10000, max_block_ms=10000, **config)
    try:
        futures = []
        for i, r in enumerate(recs):
            futures.append(producer.send(topic, key=r.key, value=r.value, timestamp_ms=r.ts, partition=r.partition))
            if flush_every and (i + 1) % flush_every == 0:
                producer.flush(timeout=20)
        producer.flush(timeout=20)
        for r, future in zip(recs, futures):
            md = future.get(timeout=10)
            r.partition, r.offset = md.partition, md.offset
            if md.offset >= 0:  # acks=0 gets no answer, so nothing to check
                check_eq(md.timestamp, r.ts, "timestamp in RecordMetadata (CreateTime)")
    finally:
        producer.close(timeout=5)
    return recs


def consume_all(bootstrap, topic, partitions, expected_count, timeout_s=20):
    """Assigns partitions 0..partitions-1, seeks to the beginning and polls until expected_count
    records arrived (or timeout_s), then once more to catch any extra. Returns (records, consumer);
    the caller closes the consumer."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="keel-it-consumer", group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=100)
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        got = []
        deadline = time.monotonic() + timeout_s
        while len(got) < expected_count and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200, max_records=5000).values():
                got.extend(batch)
        for batch in consumer.poll(timeout_ms=200).values():
            got.extend(batch)
        return got, consumer
    except BaseException:
        consumer.close(autocommit=False)
        raise


def consume(bootstrap, topic, partitions, expected_count, timeout_s=20):
    got, consumer = consume_all(bootstrap, topic, partitions, expected_count, timeout_s)
    consumer.close(autocommit=False)
    return got


def compare(sent, got, what, acks_none=False):
    """Every sent record comes back exactly once, at the partition and offset it was acknowledged
    with, with its key, value and CreateTime timestamp; each partition's offsets run 0, 1, 2, ...
    With acks_none (acks=0: no offsets known) only the set of (key, value, timestamp) is compared."""
    check_eq(len(got), len(sent), f"{what}: number of consumed records")
    if acks_none:
        got_set = sorted((r.key, r.value, r.timestamp) for r in got)
        check(got_set == sorted((s.key, s.value, s.ts) for s in sent), f"{what}: consumed records differ")
        return
    got_by_pos = {(r.partition, r.offset): r for r in got}
    check_eq(len(got_by_pos), len(got), f"{what}: distinct (partition, offset) among consumed records")
    for s in sent:
        r = got_by_pos.get((s.partition, s.offset))
        check(r is not None, f"{what}: record acknowledged at {s.partition}/{s.offset} was not consumed")
        check((r.key, r.value, r.timestamp, r.timestamp_type) == (s.key, s.value, s.ts, 0),
              f"{what}: record at {s.partition}/{s.offset} is {(r.key, r.value[:30], r.timestamp, r.timestamp_type)}, "
              f"sent {(s.key, s.value[:30], s.ts, 0)}")
    per_partition = {}
    for r in got:
        per_partition.setdefault(r.partition, []).append(r.offset)
    for p, offsets in sorted(per_partition.items()):
        check_eq(offsets, list(range(len(offsets))), f"{what}: offsets of partition {p} in consume order")
