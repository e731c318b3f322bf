"""Consumer groups against a real keel, with real clients: kcat -G (librdkafka 2.0.2) with the range,
roundrobin and cooperative-sticky assignors; kafka-python 2.0.2 with three members of one group,
one leaving, synchronous commits, and a restart that resumes from the committed offsets;
confluent-kafka-python (Debian's, on librdkafka) committing and resuming.

Usage: test_groups.py path/to/keel {kcat|kafka-python|confluent}"""

import os
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, kcat, log, main, step, wait_until  # noqa: E402

PARTITIONS = 6


def produce_lines(broker, topic, tag, count):
    lines = [f"{tag}-{i:05d}" for i in range(count)]
    for p in range(PARTITIONS):
        part = "\n".join(line for i, line in enumerate(lines) if i % PARTITIONS == p) + "\n"
        kcat("-b", broker.bootstrap, "-P", "-t", topic, "-p", str(p), "-X", "message.timeout.ms=20000",
             input_bytes=part.encode())
    return set(lines)


def kcat_group(broker, group, topic, strategy):
    """A kcat -G member that exits once every partition it holds is at its end (-e). No -o: kcat -G
    would assign at that offset and ignore the committed ones; a new group starts at the earliest."""
    return subprocess.Popen(["kcat", "-b", broker.bootstrap, "-G", group, topic, "-X", "auto.offset.reset=earliest",
                             "-e", "-q",
                             "-f", "%p %s\n", "-X", f"partition.assignment.strategy={strategy}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run_kcat(ctx):
    broker = ctx.broker(num_partitions=PARTITIONS)
    for strategy in ("range", "roundrobin", "cooperative-sticky"):
        topic = f"events-{strategy}"
        with step(f"kcat -G, two members, {strategy}"):
            sent = produce_lines(broker, topic, strategy, 600)
            members = [kcat_group(broker, f"g-{strategy}", topic, strategy) for _ in range(2)]
            outputs = []
            for m in members:
                out, err = m.communicate(timeout=60)
                check(m.returncode == 0, f"kcat -G ({strategy}) exited {m.returncode}: {err.decode()[-2000:]}")
                outputs.append([line.split(" ", 1) for line in out.decode().splitlines() if line])
            got = {value for rows in outputs for _, value in rows}
            check_eq(got, sent, f"{strategy}: messages consumed by the group")
            shares = [{p for p, _ in rows} for rows in outputs]
            log(f"{strategy}: partitions per member {sorted(map(sorted, shares))}")
            check(all(shares), f"{strategy}: a member got no partition: {shares}")
        with step(f"kcat -G {strategy}: a new member of the group resumes from the committed offsets"):
            more = produce_lines(broker, topic, strategy + "-more", 60)
            m = kcat_group(broker, f"g-{strategy}", topic, strategy)
            out, err = m.communicate(timeout=60)
            got = {line.split(" ", 1)[1] for line in out.decode().splitlines() if line}
            check_eq(got, more, f"{strategy}: what a restarted member reads")


def run_kafka_python(ctx):
    from kafka import KafkaConsumer, KafkaProducer  # noqa: E402
    broker = ctx.broker(num_partitions=PARTITIONS)
    topic = "orders"
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    ctx.on_cleanup(producer.close)

    def send(tag, count):
        values = {f"{tag}-{i}" for i in range(count)}
        for v in sorted(values):
            producer.send(topic, v.encode())
        producer.flush()
        return values

    seen = []
    lock = threading.Lock()
    stop = {}

    def member(name):
        c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id="orders-group", client_id=name,
                          auto_offset_reset="earliest", enable_auto_commit=False, session_timeout_ms=10000,
                          heartbeat_interval_ms=1000)
        while not stop.get(name):
            polled = c.poll(timeout_ms=200)
            for tp, msgs in polled.items():
                with lock:
                    seen.extend((name, m.partition, m.value.decode()) for m in msgs)
            if polled:
                c.commit()
        c.close()  # sends LeaveGroup

    sent = send("a", 600)
    threads = {n: threading.Thread(target=member, args=(n,), daemon=True) for n in ("m1", "m2", "m3")}
    with step("three kafka-python members share the topic"):
        for t in threads.values():
            t.start()
        wait_until(lambda: {v for _, _, v in seen} >= sent, 60, "every record consumed by the group")
        owners = {}
        for name, p, _ in seen:
            owners.setdefault(p, set()).add(name)
        log(f"partition owners: {owners}")
        check(all(len(o) == 1 for o in owners.values()), f"a partition read by two members: {owners}")
        check_eq(len({n for o in owners.values() for n in o}), 3, "members that got partitions")
    with step("one member leaves; the other two take over its partitions"):
        stop["m3"] = True
        threads["m3"].join(30)
        more = send("b", 300)
        wait_until(lambda: {v for _, _, v in seen} >= more, 60, "records after m3 left")
        late = {name for name, _, v in seen if v in more}
        check("m3" not in late, "m3 consumed after it left")
    with step("the group stops; a restarted member resumes from the committed offsets"):
        stop["m1"] = stop["m2"] = True
        threads["m1"].join(30)
        threads["m2"].join(30)
        last = send("c", 60)
        c = KafkaConsumer(topic, bootstrap_servers=broker.bootstrap, group_id="orders-group",
                          auto_offset_reset="earliest", consumer_timeout_ms=8000)
        got = {m.value.decode() for m in c}
        c.close()
        check_eq(got, last, "what the restarted member reads (nothing committed is read again)")


def run_confluent(ctx):
    from confluent_kafka import Consumer  # noqa: E402
    broker = ctx.broker(num_partitions=PARTITIONS)
    topic = "payments"
    sent = produce_lines(broker, topic, "p", 300)

    def consume(expected):
        c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "payments-group",
                      "auto.offset.reset": "earliest", "enable.auto.commit": False})
        c.subscribe([topic])
        got = set()
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and got != expected:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            got.add(m.value().decode())
            c.commit(message=m, asynchronous=False)
        c.close()
        return got

    with step("confluent-kafka consumes and commits synchronously"):
        check_eq(consume(sent), sent, "consumed")
    with step("a new consumer of the group resumes after the committed offsets"):
        more = produce_lines(broker, topic, "q", 60)
        check_eq(consume(more), more, "consumed after the restart")


if __name__ == "__main__":
    modes = {"kcat": run_kcat, "kafka-python": run_kafka_python, "confluent": run_confluent}
    mode = sys.argv.pop(2) if len(sys.argv) > 2 else "kcat"
    main(modes[mode], budget_s=110)
