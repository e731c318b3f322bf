"""Harness for Keel's integration tests: start the real `keel` binary on 127.0.0.1 with a temporary
log dir and a free port, drive it with real Kafka clients, and always stop it.

Standard library only; run by /usr/bin/python3 (Debian's python3-kafka is installed for that
interpreter, and another python3 may come first on PATH).

A test script looks like:

    from keel_it import Broker, check, main, step

    def run(ctx):
        broker = ctx.broker(num_partitions=4)
        with step("produce"):
            ...
        check(got == want, "consumed records differ from produced ones")

    if __name__ == "__main__":
        main(run)

Every broker started through a Context is stopped when the test ends, whatever happened: the test's
own stop(), the harness's cleanup (also after an exception or a SIGALRM/SIGTERM), a watchdog
thread that SIGKILLs the broker after its lifetime limit, and PR_SET_PDEATHSIG, which makes the
kernel SIGKILL the broker if this Python process dies (even by SIGKILL from ctest's timeout).
On failure the harness prints each broker's command, config and stderr, and keeps the temp dir.
"""

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

# ---------------------------------------------------------------------------------------------
# Small test utilities


class TestFailure(AssertionError):
    pass


def check(condition, message):
    """Fails the test with `message` unless `condition` holds."""
    if not condition:
        raise TestFailure(message)


def check_eq(got, want, what):
    if got != want:
        raise TestFailure(f"{what}: got {_short(got)}, want {_short(want)}")


def expect_error(fn, error_type, what):
    """Calls fn, which must raise error_type (a client's exception class)."""
    try:
        fn()
    except error_type as e:
        log(f"{what}: {type(e).__name__} as expected")
        return
    except Exception as e:  # noqa: BLE001
        raise AssertionError(f"{what}: expected {error_type.__name__}, got {type(e).__name__}: {e}") from None
    raise AssertionError(f"{what}: expected {error_type.__name__}, got success")


def _short(value, limit=400):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


_T0 = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - _T0:6.2f}s] {message}", flush=True)


@contextlib.contextmanager
def step(name):
    """Prints the step's name and how long it took; failures name the step they happened in."""
    started = time.monotonic()
    log(f"-> {name}")
    try:
        yield
    except TestFailure as e:
        raise TestFailure(f"[{name}] {e}") from None
    log(f"<- {name} ({time.monotonic() - started:.2f}s)")


def wait_until(predicate, timeout_s, what, interval_s=0.02):
    """Polls `predicate` until it returns a true value (returned) or `timeout_s` passes (fails)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TestFailure(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(interval_s)


# ---------------------------------------------------------------------------------------------
# Ports and processes


def free_port():
    """A port on 127.0.0.1 that was free a moment ago (the broker start retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port, timeout_s=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s):
            return True
    except OSError:
        return False


_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid):
    """preexec_fn: the kernel SIGKILLs the child when the harness process dies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: BLE001 - the watchdog thread still covers this case
        pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def spawn(argv, stdout, stderr, stdin=subprocess.DEVNULL):
    """Popen whose child dies with this process (PR_SET_PDEATHSIG)."""
    parent = os.getpid()
    return subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr,
                            preexec_fn=lambda: _die_with_parent(parent), close_fds=True)


# ---------------------------------------------------------------------------------------------
# The broker under test


class Broker:
    """One `keel` process: its server.properties, log dir, port and stderr file.

    start() / stop() / kill9() / restart() keep the same dir and port, so a restart recovers the
    same logs. Every process it starts is watched: a watchdog thread SIGKILLs it after
    `lifetime_s`, so a stuck test cannot leave a broker running.
    """

    start_timeout_s = 15.0
    stop_timeout_s = 15.0

    def __init__(self, ctx, name, props, overrides=(), lifetime_s=None):
        self.ctx = ctx
        self.name = name
        self.dir = os.path.join(ctx.tmp, name)
        self.log_dir = os.path.join(self.dir, "logs")
        self.config_path = os.path.join(self.dir, "server.properties")
        self.stderr_path = os.path.join(self.dir, "stderr.txt")
        os.makedirs(self.dir, exist_ok=True)
        self.props = dict(props)
        self.overrides = list(overrides)
        self.lifetime_s = lifetime_s or ctx.broker_lifetime_s
        self.port = None
        self.controller_port = None
        self.proc = None
        self.starts = 0
        self.exit_codes = []  # one per process that ended, in order

    # -- config --

    def _write_config(self):
        # A single node: every Keel node runs the metadata quorum, one node as a one-voter combined
        # node with its quorum on a port of its own (a test's props may replace any of this).
        lines = [
            "# written by tests/integration/keel_it.py",
            "node.id=1",
            "process.roles=broker,controller",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            "controller.listener.names=CONTROLLER",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.log_dir}",
            # One broker: __consumer_offsets can have one replica only (Kafka's default 3 would leave
            # every group without a coordinator).
            "offsets.topic.replication.factor=1",
        ]
        for key, value in self.props.items():
            if value is None:  # a test may drop a default key (e.g. node.id)
                lines = [line for line in lines if not line.startswith(key + "=")]
            else:
                lines = [line for line in lines if not line.startswith(key + "=")]
                lines.append(f"{key}={value}")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    @property
    def argv(self):
        argv = [self.ctx.keel, self.config_path]
        for item in self.overrides:
            argv += ["--override", item]
        return argv

    # -- lifecycle --

    def start(self):
        """Starts the broker (on a fresh free port the first time) and waits until it accepts."""
        check(self.proc is None, f"{self.name}: start() while running")
        first_start = self.port is None
        attempts = 3 if first_start else 1
        for attempt in range(attempts):
            if first_start:
                self.port = free_port()
                self.controller_port = free_port()
                while self.controller_port == self.port:
                    self.controller_port = free_port()
            self._write_config()
            if self._start_once():
                return self
            # Another test may have taken the port between free_port() and the broker's bind.
            if attempt + 1 < attempts and "in use" in self.stderr_tail(5).lower():
                log(f"{self.name}: port {self.port} was taken; retrying on another")
                continue
            raise TestFailure(f"{self.name}: keel exited with {self.exit_codes[-1]} while starting; "
                              f"stderr:\n{self.stderr_tail(40)}")
        raise AssertionError("unreachable")

    def _start_once(self):
        self.starts += 1
        err = open(self.stderr_path, "a")
        err.write(f"==== start #{self.starts}: {' '.join(self.argv)}\n")
        err.flush()
        self.proc = spawn(self.argv, stdout=err, stderr=err)
        err.close()
        self._arm_watchdog(self.proc)
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.exit_codes.append(self.proc.returncode)
                self.proc = None
                return False
            if port_accepts(self.port) and self._serving():
                log(f"{self.name}: keel pid {self.proc.pid} serving on {self.bootstrap}")
                return True
            time.sleep(0.02)
        raise TestFailure(f"{self.name}: keel did not accept on {self.bootstrap} within {self.start_timeout_s}s; "
                          f"stderr:\n{self.stderr_tail(40)}")

    def _serving(self):
        """A single node serves once its quorum (itself) elected it and it registered as a broker:
        Metadata lists it. A node of a larger cluster serves once it accepts (the cluster tests wait
        for the quorum themselves)."""
        if "process.roles" in self.props:
            return True
        md = try_metadata(self.port)
        return md is not None and len(md["brokers"]) > 0

    def _arm_watchdog(self, proc):
        def fire():
            if proc.poll() is None:
                sys.stderr.write(f"WATCHDOG: {self.name} (pid {proc.pid}) outlived {self.lifetime_s}s; SIGKILL\n")
                with contextlib.suppress(OSError):
                    proc.kill()
        timer = threading.Timer(self.lifetime_s, fire)
        timer.daemon = True
        timer.start()
        self.ctx.timers.append(timer)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, expect_clean=True):
        """SIGTERM, then SIGKILL after stop_timeout_s. Returns the exit code. With expect_clean,
        anything but exit code 0 within the timeout fails the test."""
        if self.proc is None:
            return None
        proc = self.proc
        with contextlib.suppress(OSError):
            proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=self.stop_timeout_s)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            code = proc.wait()
            timed_out = True
        self.proc = None
        self.exit_codes.append(code)
        log(f"{self.name}: keel stopped by SIGTERM with exit code {code}{' after SIGKILL' if timed_out else ''}")
        if expect_clean:
            check(not timed_out, f"{self.name}: keel ignored SIGTERM for {self.stop_timeout_s}s; stderr:\n"
                                 f"{self.stderr_tail(30)}")
            check(code == 0, f"{self.name}: keel exited with {code} after SIGTERM; stderr:\n{self.stderr_tail(30)}")
        return code

    def kill9(self):
        """kill -9: no chance to flush anything."""
        check(self.proc is not None, f"{self.name}: kill9() while not running")
        self.proc.kill()
        code = self.proc.wait()
        self.exit_codes.append(code)
        self.proc = None
        log(f"{self.name}: keel killed with SIGKILL")

    def restart(self):
        return self.start()

    def stderr_text(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stderr_tail(self, lines):
        return "\n".join(self.stderr_text().splitlines()[-lines:])

    # -- the partition logs on disk --

    def partition_dir(self, topic, partition):
        return os.path.join(self.log_dir, f"{topic}-{partition}")

    def segment_files(self, topic, partition):
        """The partition's .log segment files, oldest first (Kafka's layout: <topic>-<p>/<base>.log)."""
        d = self.partition_dir(topic, partition)
        check(os.path.isdir(d), f"no partition dir {d}; log dir holds {sorted(os.listdir(self.log_dir))}")
        return sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".log"))

    def batches_on_disk(self, topic, partition):
        out = []
        for path in self.segment_files(topic, partition):
            with open(path, "rb") as f:
                batches, _ = parse_batches(f.read())
                out += batches
        return out

    def describe(self):
        return (f"--- broker {self.name}: {' '.join(self.argv)}\n"
                f"--- exit codes: {self.exit_codes}{' (still running)' if self.running() else ''}\n"
                f"--- {self.config_path}:\n{_read(self.config_path)}"
                f"--- stderr ({self.stderr_path}), last 200 lines:\n{self.stderr_tail(200)}\n")


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        return f"({e})\n"


# ---------------------------------------------------------------------------------------------
# The test context: temp dir, brokers, cleanup


class Context:
    def __init__(self, keel, tmp, broker_lifetime_s):
        self.keel = keel
        self.tmp = tmp
        self.broker_lifetime_s = broker_lifetime_s
        self.brokers = []
        self.timers = []
        self.cleanups = []  # callables run (newest first) before the brokers are stopped

    def broker(self, name="broker", num_partitions=1, auto_create=True, props=None, overrides=(), start=True):
        """A broker with the usual test config; `props` adds or replaces keys (None drops one)."""
        all_props = {"num.partitions": num_partitions,
                     "auto.create.topics.enable": "true" if auto_create else "false"}
        all_props.update(props or {})
        broker = Broker(self, name, all_props, overrides)
        self.brokers.append(broker)
        if start:
            broker.start()
        return broker

    def on_cleanup(self, fn):
        self.cleanups.append(fn)
        return fn

    def cleanup(self):
        for fn in reversed(self.cleanups):
            with contextlib.suppress(Exception):
                fn()
        for broker in self.brokers:
            if broker.running():
                with contextlib.suppress(Exception):
                    broker.stop(expect_clean=False)
        for timer in self.timers:
            timer.cancel()


class _Alarm(BaseException):
    pass


def main(run, budget_s=100, broker_lifetime_s=None):
    """Runs `run(ctx)` with the keel binary from argv[1]. Exit code 0 on success, 1 on failure.
    `budget_s` bounds the whole test (SIGALRM), below ctest's TIMEOUT so the harness still prints
    its diagnostics; brokers are SIGKILLed by their watchdog a little after that."""
    if len(sys.argv) < 2:
        sys.stderr.write(f"usage: {sys.argv[0]} path/to/keel\n")
        sys.exit(2)
    keel = os.path.abspath(sys.argv[1])
    if not os.access(keel, os.X_OK):
        sys.stderr.write(f"FAIL: {keel} is not an executable keel binary\n")
        sys.exit(1)
    tmp = tempfile.mkdtemp(prefix=f"keel-it-{os.path.basename(sys.argv[0]).removesuffix('.py')}-")
    ctx = Context(keel, tmp, broker_lifetime_s or budget_s + 10)

    def on_signal(signum, _frame):
        raise _Alarm(f"signal {signum}" if signum != signal.SIGALRM else f"test budget of {budget_s}s used up")
    for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.alarm(budget_s)

    log(f"keel: {keel}; temp dir: {tmp}")
    ok = False
    try:
        run(ctx)
        ok = True
    except (Exception, _Alarm) as e:  # noqa: BLE001 - report every failure the same way
        print("\n==== FAIL:", f"{type(e).__name__}: {e}", file=sys.stderr)
        traceback.print_exc(file=sys.stderr)
    finally:
        signal.alarm(0)
        try:
            ctx.cleanup()
        except _Alarm:
            ctx.cleanup()
    sys.stdout.flush()
    if not ok:
        for broker in ctx.brokers:
            sys.stderr.write(broker.describe())
        sys.stderr.write(f"==== temp dir kept: {tmp}\n")
        sys.stderr.flush()
        os._exit(1)  # do not wait for client library threads
    shutil.rmtree(tmp, ignore_errors=True)
    log("PASS")
    sys.stdout.flush()
    os._exit(0)


# ---------------------------------------------------------------------------------------------
# Raw Kafka wire protocol, enough to probe a broker with hand-made frames


def kstring(s):
    if s is None:
        return struct.pack(">h", -1)
    b = s.encode()
    return struct.pack(">h", len(b)) + b


def uvarint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def compact_string(s):
    b = s.encode()
    return uvarint(len(b) + 1) + b


def request(api_key, version, correlation_id, body=b"", client_id="keel-it", flexible_header=False):
    """A whole frame: size, request header v1 (v2 when flexible_header), body."""
    header = struct.pack(">hhi", api_key, version, correlation_id) + kstring(client_id)
    if flexible_header:
        header += b"\x00"  # no tagged fields
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def api_versions_v3_body():
    return compact_string("keel-it") + compact_string("1.0") + b"\x00"


def recv_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)


def recv_frame(sock):
    (size,) = struct.unpack(">i", recv_exact(sock, 4))
    return recv_exact(sock, size)


def parse_api_versions_v0(frame):
    """(correlation_id, error_code, {api_key: (min, max)}) of an ApiVersions response in the v0 body
    format (which is also what a broker answers to a version it does not support)."""
    correlation_id, error_code, count = struct.unpack_from(">ihi", frame, 0)
    pos = 10
    apis = {}
    for _ in range(count):
        key, lo, hi = struct.unpack_from(">hhh", frame, pos)
        apis[key] = (lo, hi)
        pos += 6
    return correlation_id, error_code, apis


def api_versions(port):
    """The broker's advertised {api_key: (min, max)}, from an ApiVersions v0 request."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(request(18, 0, 7))
        corr, err, apis = parse_api_versions_v0(recv_frame(s))
    check_eq(corr, 7, "ApiVersions v0 correlation id")
    check_eq(err, 0, "ApiVersions v0 error code")
    return apis


def connection_outcome(sock, timeout_s=5.0):
    """What the broker did with a connection after a bad request: 'closed' (EOF or reset),
    ('frame', bytes) for a reply, or 'open' if nothing happened within timeout_s."""
    sock.settimeout(timeout_s)
    try:
        head = sock.recv(4)
    except (ConnectionResetError, BrokenPipeError):
        return "closed"
    except socket.timeout:
        return "open"
    if not head:
        return "closed"
    try:
        head += recv_exact(sock, 4 - len(head))
        (size,) = struct.unpack(">i", head)
        return ("frame", recv_exact(sock, size))
    except (ConnectionError, OSError):
        return "closed"


# ---------------------------------------------------------------------------------------------
# Record batches on disk (magic v2), for checking what the broker stored


CODECS = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


# ---------------------------------------------------------------------------------------------
# Metadata v1 on a raw socket: exactly the answer of the node asked, no client cache in between.


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, fmt):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values if len(values) > 1 else values[0]

    def string(self):
        n = self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def array(self, item):
        return [item() for _ in range(self.take(">i"))]


def metadata(port, topics=None, timeout_s=2.0, ordered=False):
    """Metadata v1 from the node on `port`: {"brokers": {id: port}, "controller": id,
    "topics": {name: {"error": e, "partitions": {p: (error, leader, replicas, isr)}}}}, the replica
    and ISR lists sorted unless `ordered` (then as the broker sent them)."""
    body = struct.pack(">i", -1) if topics is None else struct.pack(">i", len(topics)) + b"".join(
        kstring(t) for t in topics)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(request(3, 1, 11, body))
        r = _Reader(recv_frame(s))
    check_eq(r.take(">i"), 11, "Metadata correlation id")

    def broker():
        node_id = r.take(">i")
        r.string()  # host
        broker_port = r.take(">i")
        r.string()  # rack
        return node_id, broker_port

    brokers = dict(r.array(broker))
    controller = r.take(">i")

    def partition():
        error, index, leader = r.take(">hii")
        replicas = r.array(lambda: r.take(">i"))
        isr = r.array(lambda: r.take(">i"))
        if not ordered:
            replicas, isr = sorted(replicas), sorted(isr)
        return index, (error, leader, replicas, isr)

    def topic():
        error = r.take(">h")
        name = r.string()
        r.take(">b")  # is_internal
        return name, {"error": error, "partitions": dict(r.array(partition))}

    return {"brokers": brokers, "controller": controller, "topics": dict(r.array(topic))}


def try_metadata(port, topics=None, ordered=False):
    try:
        return metadata(port, topics, ordered=ordered)
    except (OSError, struct.error, TestFailure):
        return None



class Batch:
    __slots__ = ("position", "base_offset", "length", "attributes", "last_offset_delta", "record_count")

    def __init__(self, position, base_offset, length, attributes, last_offset_delta, record_count):
        self.position = position
        self.base_offset = base_offset
        self.length = length
        self.attributes = attributes
        self.last_offset_delta = last_offset_delta
        self.record_count = record_count

    @property
    def codec(self):
        return CODECS.get(self.attributes & 0x7, f"codec {self.attributes & 0x7}")

    @property
    def end(self):  # file position after the batch
        return self.position + 12 + self.length

    @property
    def last_offset(self):
        return self.base_offset + self.last_offset_delta


# baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8, crc uint32,
# attributes int16, lastOffsetDelta int32, then timestamps, producer fields and the record count.
_BATCH_HEAD = struct.Struct(">qiibIhi")
_BATCH_HEADER_BYTES = 61


def parse_batches(data):
    """(whole batches, bytes left over at the end that do not form a whole batch)."""
    batches = []
    pos = 0
    while pos + _BATCH_HEADER_BYTES <= len(data):
        base, length, _epoch, magic, _crc, attributes, last_delta = _BATCH_HEAD.unpack_from(data, pos)
        if magic != 2 or length < _BATCH_HEADER_BYTES - 12 or pos + 12 + length > len(data):
            break
        (count,) = struct.unpack_from(">i", data, pos + 57)
        batches.append(Batch(pos, base, length, attributes, last_delta, count))
        pos += 12 + length
    return batches, len(data) - pos


# ---------------------------------------------------------------------------------------------
# Client helpers


def kcat(*args, timeout_s=30, input_bytes=None, check_rc=True):
    """Runs kcat; returns CompletedProcess with bytes stdout/stderr. Fails the test on a non-zero
    exit (with kcat's stderr) unless check_rc is False."""
    argv = ["kcat", *args]
    try:
        done = subprocess.run(argv, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout_s, preexec_fn=_pdeathsig_only)
    except subprocess.TimeoutExpired as e:
        raise TestFailure(f"{' '.join(argv)} did not finish within {timeout_s}s; stderr:\n"
                          f"{(e.stderr or b'').decode(errors='replace')[-3000:]}") from None
    if check_rc:
        check(done.returncode == 0, f"{' '.join(argv)} exited with {done.returncode}; stderr:\n"
                                    f"{done.stderr.decode(errors='replace')[-3000:]}")
    return done


def _pdeathsig_only():
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def librdkafka_codec_used(apis, codec):
    """The codec librdkafka 2.0.2 (kcat's) actually puts on the wire for `codec`, given the broker's
    advertised versions. From rdkafka_msgset_writer.c (rd_kafka_msgset_writer_select_MsgVersion)
    and rdkafka_feature.c at v2.0.2:
      - every codec first asks rd_kafka_broker_ApiVersion_supported(Produce, 0, X) with X = 0 for
        gzip, snappy and lz4 and X = 7 for zstd; that answers -1 when the broker's Produce min is
        above X, and the batch then goes out uncompressed;
      - lz4 also needs the LZ4 feature, which needs FindCoordinator advertised with a range that
        overlaps [0, 0];
      - zstd also needs the ZSTD feature: Produce overlapping [7, 7] and Fetch overlapping [10, 10].
    """
    def overlaps(key, lo, hi):
        return key in apis and apis[key][0] <= hi and apis[key][1] >= lo

    def produce_supported(maxver):
        if 0 not in apis:
            return False
        lo, hi = apis[0]
        return not (hi < maxver and hi < 0) and not (hi >= maxver and lo > maxver)

    if codec == "none":
        return "none"
    need = 7 if codec == "zstd" else 0
    if not produce_supported(need):
        return "none"
    if codec == "lz4" and not overlaps(10, 0, 0):
        return "none"
    if codec == "zstd" and not (overlaps(0, 7, 7) and overlaps(1, 10, 10)):
        return "none"
    return codec
