"""Partition reassignment on a three-node replicated keel cluster on 127.0.0.1, driven over the
Kafka protocol (AlterPartitionReassignments / ListPartitionReassignments, which kafka-python 2.0.2
does not speak, so kp_reassign.py sends them) while kafka-python produces with acks=all:

  1. start three combined nodes; create a topic with 3 partitions and replication factor 2, so each
     partition has one node that holds none of it;
  2. under load, move every partition onto the node that lacked it plus its follower, dropping its
     leader; each move must complete (the new replica catches up, joins the ISR, the old leader
     leaves, the first target replica in the ISR leads), ListPartitionReassignments must end
     empty, Metadata must show the target replicas in target order, and the dropped node must
     delete its copy of the partition;
  3. a move onto a node that is down stays in progress (ListPartitionReassignments shows what it
     adds and removes) until it is cancelled, which puts the partition back where it was;
  4. refusals: an unregistered broker (INVALID_REPLICA_ASSIGNMENT), an unknown topic
     (UNKNOWN_TOPIC_OR_PARTITION), a cancel with nothing in progress (NO_REASSIGNMENT_IN_PROGRESS);
  5. every acknowledged record is read back at its partition and offset.

Run as: test_cluster_reassign.py path/to/keel
"""

import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from keel_it import check, check_eq, log, main, step, wait_until  # noqa: E402
from kafka import KafkaAdminClient  # noqa: E402
from kafka.admin import NewTopic  # noqa: E402
from kp_reassign import alter_partition_reassignments, list_partition_reassignments, partition_errors  # noqa: E402
from test_cluster import Load, bootstrap, live_metadata, read_back, start_cluster, try_metadata  # noqa: E402

TOPIC = "cluster-reassign"
PARTITIONS = 3
BUDGET_S = 90
MOVE_BOUND_S = 30  # a move of a few thousand small records, on a loaded 2-core machine

INVALID_REPLICA_ASSIGNMENT = 39
UNKNOWN_TOPIC_OR_PARTITION = 3
NO_REASSIGNMENT_IN_PROGRESS = 85


def assignment(nodes):
    """{partition: (leader, replicas in order, isr)} from the first node that answers, or None."""
    for node in nodes:
        if node.running():
            md = try_metadata(node.port, [TOPIC], ordered=True)
            if md and TOPIC in md["topics"] and len(md["topics"][TOPIC]["partitions"]) == PARTITIONS:
                return {p: (leader, replicas, sorted(isr))
                        for p, (_, leader, replicas, isr) in md["topics"][TOPIC]["partitions"].items()}
    return None


def ongoing(node):
    """{partition: (replicas, adding, removing)} of the topic's reassignments in progress."""
    reply = list_partition_reassignments("127.0.0.1", node.port, {TOPIC: list(range(PARTITIONS))}, timeout_ms=10000)
    check_eq(reply["error_code"], 0, f"ListPartitionReassignments error ({reply['error_message']})")
    out = {}
    for t in reply["topics"]:
        check_eq(t["name"], TOPIC, "listed topic")
        for p in t["partitions"]:
            out[p["partition"]] = (p["replicas"], p["adding_replicas"], p["removing_replicas"])
    return out


def partition_dirs(node):
    """The topic's partition directories in the node's log dir (not those renamed for deletion)."""
    if not os.path.isdir(node.log_dir):
        return set()
    return {name for name in os.listdir(node.log_dir) if name.startswith(TOPIC + "-") and "." not in name}


def run(ctx):
    with step("start three combined nodes and create a topic with replication factor 2"):
        nodes = start_cluster(ctx)
        for node in nodes:
            wait_until(lambda n=node: (md := try_metadata(n.port)) and sorted(md["brokers"]) == [1, 2, 3], 30,
                       f"{node.name} to list brokers 1, 2, 3 in Metadata")
        admin = KafkaAdminClient(bootstrap_servers=bootstrap(nodes), client_id="keel-it-admin", request_timeout_ms=15000)
        ctx.on_cleanup(admin.close)
        response = admin.create_topics([NewTopic(TOPIC, PARTITIONS, 2)], timeout_ms=15000)
        check(all(e[1] == 0 for e in response.topic_errors), f"create_topics errors: {response.topic_errors}")
        admin.close()
        before = wait_until(lambda: (a := assignment(nodes)) and all(len(isr) == 2 and leader >= 0
                                                                     for leader, _, isr in a.values()) and a,
                            30, "every partition to have a leader and an ISR of two")
        for p, (leader, replicas, isr) in sorted(before.items()):
            log(f"partition {p}: leader {leader}, replicas {replicas}, isr {isr}")
        by_id = {n.node_id: n for n in nodes}

    load = Load(nodes, TOPIC, PARTITIONS)
    ctx.on_cleanup(lambda: load.producer.close(timeout=0))
    with step("under acks=all load, move every partition onto the node that lacks it, dropping its leader"):
        load.start()
        wait_until(lambda: load.acked_count() >= 1500, 30, "1500 acknowledgements before the moves")
        targets = {}
        for p, (leader, replicas, _) in before.items():
            newcomer = next(i for i in (1, 2, 3) if i not in replicas)
            follower = next(r for r in replicas if r != leader)
            targets[p] = [newcomer, follower]
        t_move = time.monotonic()
        reply = alter_partition_reassignments("127.0.0.1", nodes[0].port,
                                              {(TOPIC, p): t for p, t in targets.items()}, timeout_ms=15000)
        check_eq(reply["error_code"], 0, "AlterPartitionReassignments top-level error")
        check_eq(partition_errors(reply), {(TOPIC, p): 0 for p in targets}, "AlterPartitionReassignments errors")
        log(f"asked node 1 to move: {targets}; in progress right after: {ongoing(nodes[1])}")

        def moved():
            a = assignment(nodes)
            if not a or ongoing(nodes[2]):
                return None
            done = all(a[p][1] == t and a[p][2] == sorted(t) and a[p][0] == t[0] for p, t in targets.items())
            return a if done else None

        after = wait_until(moved, MOVE_BOUND_S, "every move to complete, the newcomer leading", interval_s=0.05)
        move_s = time.monotonic() - t_move
        for p, (leader, replicas, isr) in sorted(after.items()):
            log(f"partition {p}: leader {leader}, replicas {replicas}, isr {isr} (was led by {before[p][0]})")
        # The dropped leader deletes its copy (renamed away at once, removed after file.delete.delay.ms).
        for p, (old_leader, _, _) in before.items():
            dropped = by_id[old_leader]
            wait_until(lambda d=dropped, q=p: f"{TOPIC}-{q}" not in partition_dirs(d), 10,
                       f"{dropped.name} to delete {TOPIC}-{p}")
        for node in nodes:
            held = {int(d.rsplit("-", 1)[1]) for d in partition_dirs(node)}
            want = {p for p, t in targets.items() if node.node_id in t}
            check_eq(held, want, f"partitions {node.name} holds on disk")
        acked_at_move = load.acked_count()
        wait_until(lambda: load.acked_count() >= acked_at_move + 300, 30, "300 more acknowledgements after the moves")

    with step("a move onto a node that is down stays in progress until it is cancelled"):
        leader, replicas, _ = after[0]
        outsider = by_id[next(i for i in (1, 2, 3) if i not in replicas)]
        asked_at = next(n for n in nodes if n is not outsider)
        outsider.kill9()
        reply = alter_partition_reassignments("127.0.0.1", asked_at.port,
                                              {(TOPIC, 0): replicas + [outsider.node_id]}, timeout_ms=15000)
        check_eq(partition_errors(reply), {(TOPIC, 0): 0}, "moving partition 0 onto the dead node")
        time.sleep(1.0)  # it cannot complete: the dead node never catches up
        listed = ongoing(asked_at)
        check_eq(listed.get(0), (replicas + [outsider.node_id], [outsider.node_id], []),
                 "partition 0's reassignment in progress (replicas, adding, removing)")
        reply = alter_partition_reassignments("127.0.0.1", asked_at.port, {(TOPIC, 0): None}, timeout_ms=15000)
        check_eq(partition_errors(reply), {(TOPIC, 0): 0}, "cancelling partition 0's reassignment")
        check_eq(ongoing(asked_at), {}, "reassignments in progress after the cancel")
        wait_until(lambda: (a := assignment([asked_at])) and a[0][1] == replicas, 10,
                   f"partition 0 back on {replicas}")
        reply = alter_partition_reassignments("127.0.0.1", asked_at.port, {(TOPIC, 0): None}, timeout_ms=15000)
        check_eq(partition_errors(reply), {(TOPIC, 0): NO_REASSIGNMENT_IN_PROGRESS}, "a second cancel")
        outsider.restart()
        wait_until(lambda: (md := live_metadata(nodes)) and sorted(md["brokers"]) == [1, 2, 3], 30,
                   f"{outsider.name} back in the cluster")

    with step("refusals name what was wrong"):
        reply = alter_partition_reassignments("127.0.0.1", nodes[1].port,
                                              {(TOPIC, 1): [1, 99], ("no-such-topic", 0): [1]}, timeout_ms=15000)
        errors = partition_errors(reply)
        check_eq(errors, {(TOPIC, 1): INVALID_REPLICA_ASSIGNMENT, ("no-such-topic", 0): UNKNOWN_TOPIC_OR_PARTITION},
                 "errors for an unregistered broker and an unknown topic")
        messages = {(t["name"], p["partition"]): p["error_message"] for t in reply["topics"] for p in t["partitions"]}
        check_eq(messages[(TOPIC, 1)], f"{TOPIC}-1: broker 99 is not registered", "message for broker 99")

    with step("stop producing; every acknowledged record is read back"):
        acked, got = read_back(load, nodes)
        log(f"acknowledged {len(acked)} records; consumed {len(got)}, every acknowledged one at its offset")

    log(f"FIGURES: acknowledged={len(acked)} acked_before_moves={acked_at_move} moves_completed_s={move_s:.2f}")
    for node in nodes:
        node.stop()


if __name__ == "__main__":
    main(run, budget_s=BUDGET_S)
