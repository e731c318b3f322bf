"""Restarts of a real keel on the same log dir and port prove recovery. One scenario per run:

  synced           log.flush.interval.messages=1 (acknowledged means synced): produce with
                   acks=all, kill -9, restart, consume everything
  clean-then-kill  default flush policy: produce, SIGTERM (clean stop, exit 0), restart, consume;
                   produce more, kill -9, restart, consume all (the page cache outlives the
                   process, so acknowledged records survive a process crash even without fsync)
  torn-tail        produce batch by batch, kill -9, cut the tail of a partition's .log mid-batch
                   (one mid-body, one mid-header), restart: the broker recovers the valid prefix,
                   serves it, and appends after it
  segments         16 KiB segments: consume, seek and offsets_for_times across many segments; cut
                   the newest one mid-batch, kill -9, restart
  kill-under-load  kill -9 while a producer keeps sending with acks=1; after the restart every
                   acknowledged record is there, offsets are contiguous, nothing unsent appears

Run as: test_restart.py path/to/keel SCENARIO
"""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, log, main, parse_batches, step, wait_until  # noqa: E402
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kp_util import compare, consume, produce, records  # noqa: E402

PARTITIONS = 3


def create_topic(broker, topic, partitions=PARTITIONS):
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="keel-it-admin", request_timeout_ms=10000)
    try:
        admin.create_topics([NewTopic(topic, partitions, 1)])
    finally:
        admin.close()


def check_all_back(broker, topic, sent, what):
    compare(sent, consume(broker.bootstrap, topic, PARTITIONS, len(sent)), what)
    log(f"{what}: all {len(sent)} acknowledged records consumed back at their offsets")


def scenario_synced(ctx):
    broker = ctx.broker(auto_create=False, overrides=["log.flush.interval.messages=1"])
    topic = "restart-synced"
    create_topic(broker, topic)
    base_ts = int(time.time() * 1000) - 3_600_000
    with step("produce 1500 records with acks=all and log.flush.interval.messages=1"):
        sent = produce(broker.bootstrap, topic, records(1500, "synced", base_ts), acks="all")
    with step("kill -9 right after the last acknowledgement, restart on the same dir and port"):
        broker.kill9()
        broker.restart()
    with step("every acknowledged record is back, at its offset"):
        check_all_back(broker, topic, sent, topic)
    with step("new records continue the offsets after the recovered ones"):
        more = produce(broker.bootstrap, topic, records(300, "after", base_ts + 100_000), acks="all")
        for p in range(PARTITIONS):
            before = sorted(s.offset for s in sent if s.partition == p)
            after = sorted(s.offset for s in more if s.partition == p)
            if after:
                check_eq(after[0], before[-1] + 1 if before else 0, f"first offset after restart in partition {p}")
        check_all_back(broker, topic, sent + more, topic)
    broker.stop()


def scenario_clean_then_kill(ctx):
    broker = ctx.broker(auto_create=False)
    topic = "restart-clean"
    create_topic(broker, topic)
    base_ts = int(time.time() * 1000) - 3_600_000
    with step("produce 1000 records (default flush policy), then a clean stop with SIGTERM"):
        sent = produce(broker.bootstrap, topic, records(1000, "before-stop", base_ts), acks="all")
        broker.stop()  # fails unless keel exits 0 within the timeout
        check("keel: stopped" in broker.stderr_text(), "keel did not say it stopped cleanly")
    with step("restart: everything is back"):
        broker.restart()
        check_all_back(broker, topic, sent, topic)
    with step("produce 1000 more, kill -9, restart: everything acknowledged is back"):
        sent += produce(broker.bootstrap, topic, records(1000, "before-kill", base_ts + 100_000), acks=1)
        broker.kill9()
        broker.restart()
        check_all_back(broker, topic, sent, topic)
    broker.stop()


def scenario_torn_tail(ctx):
    broker = ctx.broker(auto_create=False)
    topic = "restart-torn"
    create_topic(broker, topic)
    base_ts = int(time.time() * 1000) - 3_600_000
    groups, per_group = 8, 30
    with step(f"produce {groups} groups of {per_group} records per partition, one batch per group"):
        sent = produce(broker.bootstrap, topic, records(groups * per_group * PARTITIONS, "torn", base_ts, PARTITIONS),
                       flush_every=per_group * PARTITIONS, acks="all")
    broker.kill9()

    # Partition 0 loses half of its last batch's body, partition 1 keeps only 7 bytes of its last
    # batch's header, partition 2 is left whole.
    keep_end = {}
    with step("cut the tail of partitions 0 and 1 mid-batch"):
        for p, cut in ((0, lambda b: b.position + 12 + b.length // 2), (1, lambda b: b.position + 7)):
            segment = broker.segment_files(topic, p)[-1]
            with open(segment, "rb") as f:
                batches, leftover = parse_batches(f.read())
            check_eq(leftover, 0, f"torn bytes at the end of {segment} before the cut")
            check(len(batches) >= 2, f"{segment} holds {len(batches)} batches; the test needs several")
            new_size = cut(batches[-1])
            os.truncate(segment, new_size)
            keep_end[p] = batches[-2].last_offset + 1
            log(f"partition {p}: {len(batches)} batches, last at {batches[-1].position} "
                f"({12 + batches[-1].length} bytes, offsets {batches[-1].base_offset}-{batches[-1].last_offset}); "
                f"cut {os.path.basename(segment)} to {new_size} bytes; the valid prefix ends at offset {keep_end[p]}")
        keep_end[2] = sum(1 for s in sent if s.partition == 2)

    with step("restart: the valid prefix of each partition is served, nothing past it"):
        broker.restart()
        kept = [s for s in sent if s.offset < keep_end[s.partition]]
        check_all_back(broker, topic, kept, topic)
    with step("new records are appended right after the valid prefix"):
        more = produce(broker.bootstrap, topic, records(3 * PARTITIONS, "after-cut", base_ts + 100_000, PARTITIONS),
                       acks="all")
        for p in range(PARTITIONS):
            check_eq(sorted(s.offset for s in more if s.partition == p), [keep_end[p] + i for i in range(3)],
                     f"offsets of the records appended to partition {p} after recovery")
        check_all_back(broker, topic, kept + more, topic)
    broker.stop()
    with step("after recovery no torn bytes are left inside the segments"):
        for p in range(PARTITIONS):
            for segment in broker.segment_files(topic, p):
                with open(segment, "rb") as f:
                    batches, leftover = parse_batches(f.read())
                check_eq(leftover, 0, f"bytes after the last whole batch of {segment}")
                ends = [(b.base_offset, b.last_offset) for b in batches]
                check(all(a[1] + 1 == b[0] for a, b in zip(ends, ends[1:])),
                      f"offsets of the batches in {segment} are not contiguous: {ends}")


def scenario_segments(ctx):
    # Small segments: many per partition, each with its offset and time indexes.
    broker = ctx.broker(auto_create=False, props={"log.segment.bytes": 16384, "log.index.interval.bytes": 512})
    topic = "restart-segments"
    create_topic(broker, topic, 2)
    base_ts = int(time.time() * 1000) - 3_600_000
    with step("produce 3000 records into segments of 16 KiB"):
        sent = produce(broker.bootstrap, topic, records(3000, "seg", base_ts, 2), flush_every=100, acks=1)
        segments = len(broker.segment_files(topic, 0))
        check(segments >= 5, f"partition 0 has {segments} segments; log.segment.bytes=16384 should give many")
        log(f"partition 0: {segments} segments")
    with step("consume across segments; seek into the middle; offsets_for_times across segments"):
        compare(sent, consume(broker.bootstrap, topic, 2, len(sent)), topic)
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False,
                                 fetch_max_wait_ms=100)
        ctx.on_cleanup(lambda: consumer.close(autocommit=False))
        tp = TopicPartition(topic, 0)
        in_p0 = [s for s in sent if s.partition == 0]
        for s in in_p0[::97]:
            answer = consumer.offsets_for_times({tp: s.ts})[tp]
            check(answer is not None and answer.offset == s.offset,
                  f"offsets_for_times at {s.ts} = {answer}, want offset {s.offset}")
        consumer.assign([tp])
        consumer.seek(tp, 777)
        got = []
        deadline = time.monotonic() + 10
        while len(got) < 5 and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                got.extend(batch)
        check(got and got[0].offset == 777 and got[0].value == in_p0[777].value,
              f"first record after seek(777): {got[0].offset if got else None}")
        consumer.close(autocommit=False)
    broker.kill9()
    with step("cut the newest segment of partition 0 inside its last batch, restart"):
        segment = broker.segment_files(topic, 0)[-1]
        with open(segment, "rb") as f:
            batches, _ = parse_batches(f.read())
        os.truncate(segment, batches[-1].position + 20)
        keep_end = batches[-1].base_offset
        broker.restart()
        kept = [s for s in sent if s.partition == 1 or s.offset < keep_end]
        compare(kept, consume(broker.bootstrap, topic, 2, len(kept)), f"{topic} after the cut")
        log(f"partition 0 keeps offsets below {keep_end}; {len(kept)} records served")
    broker.stop()


def scenario_kill_under_load(ctx):
    broker = ctx.broker(auto_create=False)
    topic = "restart-load"
    create_topic(broker, topic)
    recs = records(200_000, "load", int(time.time() * 1000) - 3_600_000, PARTITIONS)
    acked = []
    lock = threading.Lock()
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, client_id="keel-it-load", acks=1, linger_ms=2,
                             retries=0, request_timeout_ms=3000, max_block_ms=3000)
    ctx.on_cleanup(lambda: producer.close(timeout=0))

    def on_ack(record):
        def callback(md):
            record.partition, record.offset = md.partition, md.offset
            with lock:
                acked.append(record)
        return callback

    def send_all():
        for r in recs:
            try:
                future = producer.send(topic, key=r.key, value=r.value, timestamp_ms=r.ts, partition=r.partition)
            except Exception:  # noqa: BLE001 - the broker is gone: stop sending
                return
            future.add_callback(on_ack(r))

    with step("kill -9 while a producer keeps sending (acks=1)"):
        sender = threading.Thread(target=send_all, daemon=True)
        sender.start()
        wait_until(lambda: len(acked) >= 2000, 20, "2000 acknowledgements")
        broker.kill9()
        time.sleep(0.3)  # acknowledgements already on their way are counted; the broker is dead
        with lock:
            acknowledged = list(acked)
        log(f"{len(acknowledged)} records acknowledged before the kill")
        # Stop the producer before the restart, or it reconnects and goes on sending.
        producer.close(timeout=0)
        sender.join(10)
        check(not sender.is_alive(), "the sending thread did not stop after the producer was closed")
    with step("restart: every acknowledged record is there, offsets contiguous, nothing torn"):
        broker.restart()
        consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None, enable_auto_commit=False)
        ends = consumer.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
        consumer.close(autocommit=False)
        stored = sum(ends.values())
        check(stored >= len(acknowledged), f"{stored} records stored after the restart, {len(acknowledged)} were acknowledged")
        got = consume(broker.bootstrap, topic, PARTITIONS, stored)
        check_eq(len(got), stored, "records consumed after the restart (the end offsets say)")
        for p in range(PARTITIONS):
            offsets = [r.offset for r in got if r.partition == p]
            check_eq(offsets, list(range(ends[TopicPartition(topic, p)])), f"offsets of partition {p} after the restart")
        by_position = {(r.partition, r.offset): r for r in got}
        for s in acknowledged:
            r = by_position.get((s.partition, s.offset))
            check(r is not None and (r.key, r.value) == (s.key, s.value),
                  f"acknowledged record {s.partition}/{s.offset} is {'missing' if r is None else 'different'}")
        sent_values = {r.value for r in recs}
        check(all(r.value in sent_values for r in got), "a record that was never sent was consumed")
        log(f"{stored} records stored, all {len(acknowledged)} acknowledged ones among them")
    broker.stop()


SCENARIOS = {"synced": scenario_synced, "clean-then-kill": scenario_clean_then_kill, "torn-tail": scenario_torn_tail,
             "segments": scenario_segments, "kill-under-load": scenario_kill_under_load}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        sys.stderr.write(f"usage: {sys.argv[0]} path/to/keel {'|'.join(SCENARIOS)}\n")
        sys.exit(2)
    main(SCENARIOS[sys.argv[2]], budget_s=100)
