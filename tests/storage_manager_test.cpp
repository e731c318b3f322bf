// The log manager: several partitions over several log dirs, a clean shutdown and a reopen
// without recovery, a power loss and a reopen with recovery, removal of a partition, the
// background tasks, and corruption reported at start-up.
#include "tests/support/storage.h"

#include "broker/storage/checkpoint.h"
#include "broker/storage/log_manager.h"

using namespace storage_test;

namespace {

LogManager::Options manager_options() {
  LogManager::Options o;
  o.log_dirs = {"disk1/logs", "disk2/logs"};
  o.defaults = small_segments(1500);
  o.defaults.file_delete_delay_ms = 5'000;
  o.initial_task_delay = std::chrono::seconds(1);
  o.checkpoint_interval = std::chrono::seconds(1);
  o.retention_check_interval = std::chrono::seconds(2);
  return o;
}

const std::vector<TopicPartition> topic_partitions = {tp("audit", 0), tp("audit", 1), tp("my-topic", 2), tp("z", 0)};

// Batch b of partition i: recognisable per partition.
int batch_id(std::size_t partition, int b) { return static_cast<int>(partition) * 1000 + b; }

std::string append_some(Runtime& rt, LogManager& m, int batches, std::map<TopicPartition, Expected>& expected) {
  for (std::size_t i = 0; i < topic_partitions.size(); ++i) {
    Log* log = m.get(topic_partitions[i]);
    if (log == nullptr) return fmt::format("{} missing", topic_partitions[i]);
    for (int b = 0; b < batches; ++b) {
      const int id = batch_id(i, static_cast<int>(expected[topic_partitions[i]].values.size()) + b);
      auto r = log->append(make_batch(id, 2, to_unix_ms(rt.wall_now()), 40), 0);
      if (!r) return r.error().message;
      expected[topic_partitions[i]].add_batch(id, 2, 40);
    }
  }
  return "";
}

std::string check_all(LogManager& m, const std::map<TopicPartition, Expected>& expected, bool exact) {
  for (const auto& [t, e] : expected) {
    Log* log = m.get(t);
    if (log == nullptr) return fmt::format("{} missing", t);
    auto all = read_all(*log);
    if (!all) return all.error().message;
    if (exact && all->size() != e.values.size()) return fmt::format("{}: {} records, want {}", t, all->size(), e.values.size());
    if (auto diff = check_prefix(*all, e); !diff.empty()) return fmt::format("{}: {}", t, diff);
  }
  return "";
}

}  // namespace

TEST_CASE("storage manager: partitions reopen across a clean shutdown without recovery", "[storage]") {
  Rig rig;
  std::string error;
  std::map<TopicPartition, Expected> expected;
  std::map<std::string, int> per_dir;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    for (const auto& t : topic_partitions) {
      auto log = (*m)->create(t, small_segments(1500));
      if (!log) return void(error = log.error().message);
      ++per_dir[parent_dir((*log)->dir())];
    }
    (*m)->start();
    if (auto e = append_some(rt, **m, 20, expected); !e.empty()) return void(error = e);
    if (auto st = (*m)->shutdown(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  CHECK(per_dir == std::map<std::string, int>{{"disk1/logs", 2}, {"disk2/logs", 2}});
  CHECK(rig.exists("disk1/logs/.kafka_cleanshutdown"));
  CHECK(rig.exists("disk2/logs/.kafka_cleanshutdown"));
  const auto checkpoint = parse_offset_checkpoint(*rig.disk().durable_contents("disk1/logs/recovery-point-offset-checkpoint"));
  REQUIRE(checkpoint.ok());
  CHECK(checkpoint->size() == 2);
  for (const auto& [t, offset] : *checkpoint) CHECK(offset == 40);

  rig.node().power_off();  // a clean shutdown made everything durable
  LogManager::RecoveryReport report;
  std::vector<TopicPartition> listed;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    report = (*m)->recovery_report();
    listed = (*m)->partitions();
    error = check_all(**m, expected, true);
  });
  REQUIRE(error == "");
  CHECK(report.clean_dirs.size() == 2);
  CHECK(report.unclean_dirs.empty());
  REQUIRE(report.partitions.size() == 4);
  for (const auto& p : report.partitions) {
    CHECK(p.info.clean_shutdown);
    CHECK(p.info.segments_recovered == 0);
    CHECK(p.info.problems.empty());
  }
  CHECK(listed == std::vector<TopicPartition>{tp("audit", 0), tp("audit", 1), tp("my-topic", 2), tp("z", 0)});
  CHECK_FALSE(rig.exists("disk1/logs/.kafka_cleanshutdown"));  // a crash from now on is unclean
}

TEST_CASE("storage manager: after a power loss every partition recovers from its checkpointed recovery point",
          "[storage]") {
  Rig rig(tearing_disk(), 3);
  std::string error;
  std::map<TopicPartition, Expected> expected;
  bool written = false;
  // The process keeps running (with its manager and tasks) until the power goes.
  rig.start([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    for (const auto& t : topic_partitions) {
      if (auto log = (*m)->create(t, small_segments(1500)); !log) return void(error = log.error().message);
    }
    (*m)->start();
    if (auto e = append_some(rt, **m, 30, expected); !e.empty()) return void(error = e);
    rt.sleep_for(std::chrono::seconds(3));  // rolls flushed, checkpoints written
    if (auto e = append_some(rt, **m, 10, expected); !e.empty()) return void(error = e);
    written = true;
    rt.sleep_for(std::chrono::hours(1));
  });
  rig.step_until([&] { return written || !error.empty(); });
  REQUIRE(written);
  REQUIRE(error == "");
  rig.node().power_off();
  std::map<TopicPartition, std::int64_t> checkpointed;
  for (const std::string dir : {"disk1/logs", "disk2/logs"}) {
    auto cp = parse_offset_checkpoint(rig.disk().contents(dir + "/recovery-point-offset-checkpoint").value_or(""));
    REQUIRE(cp.ok());
    checkpointed.insert(cp->begin(), cp->end());
  }
  REQUIRE(checkpointed.size() == 4);
  LogManager::RecoveryReport report;
  std::map<TopicPartition, std::int64_t> leo;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    report = (*m)->recovery_report();
    for (const auto& t : topic_partitions) leo[t] = (*m)->get(t)->log_end_offset();
    error = check_all(**m, expected, false);
  });
  REQUIRE(error == "");
  CHECK(report.unclean_dirs.size() == 2);
  REQUIRE(report.partitions.size() == 4);
  for (const auto& p : report.partitions) {
    CHECK_FALSE(p.info.clean_shutdown);
    CHECK(p.info.segments_recovered >= 1);
    CHECK(leo[p.tp] >= checkpointed[p.tp]);
    CHECK(checkpointed[p.tp] > 0);
  }
}

TEST_CASE("storage manager: corruption found at start-up is cut, reported, and the broker carries on", "[storage]") {
  Rig rig;
  std::string error;
  std::map<TopicPartition, Expected> expected;
  std::string victim;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    for (const auto& t : topic_partitions) {
      if (auto log = (*m)->create(t, small_segments(1500)); !log) return void(error = log.error().message);
    }
    if (auto e = append_some(rt, **m, 30, expected); !e.empty()) return void(error = e);
    for (const auto& t : topic_partitions) {
      if (auto st = (*m)->get(t)->flush(); !st) return void(error = st.error().message);
    }
    // A bit flip in the first segment of my-topic-2, past its first batch.
    victim = (*m)->get(tp("my-topic", 2))->dir() + "/" + segment_file_name(0, log_suffix);
    auto f = rt.disk().open(victim, OpenOptions{});
    if (!f) return void(error = f.error().message);
    std::byte b{0x40};
    if (auto st = f->write_at(300, std::span(&b, 1)); !st) return void(error = st.error().message);
    if (auto st = f->sync(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  rig.node().power_off();  // no checkpoint was written: recovery from offset 0 everywhere
  LogManager::RecoveryReport report;
  std::int64_t leo = -1;
  AppendResult appended;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    report = (*m)->recovery_report();
    Log* log = (*m)->get(tp("my-topic", 2));
    leo = log->log_end_offset();
    error = check_all(**m, expected, false);
    auto r = log->append(make_batch(5, 1, 0), 1);  // and the log takes writes again
    if (!r) return void(error = r.error().message);
    appended = *r;
  });
  REQUIRE(error == "");
  CHECK(report.problems == 1);
  CHECK(report.bytes_truncated > 0);
  REQUIRE(report.partitions.size() == 4);
  for (const auto& p : report.partitions) {
    if (p.tp == tp("my-topic", 2)) {
      REQUIRE(p.info.problems.size() == 1);
      CHECK_THAT(p.info.problems[0], Catch::Contains("CRC") || Catch::Contains("crc"));
    } else {
      CHECK(p.info.problems.empty());
    }
  }
  CHECK(leo > 0);
  CHECK(leo < 60);
  CHECK(appended.base_offset == leo);
}

TEST_CASE("storage manager: a removed partition's dir is renamed -delete and removed after the delay, even across a restart",
          "[storage]") {
  Rig rig;
  std::string error;
  std::vector<std::string> names_after_remove;
  std::vector<TopicPartition> listed;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    for (const auto& t : topic_partitions) {
      if (auto log = (*m)->create(t, small_segments(1500)); !log) return void(error = log.error().message);
    }
    Log* doomed = (*m)->get(tp("audit", 1));
    if (auto st = (*m)->remove(tp("audit", 1)); !st) return void(error = st.error().message);
    auto r = doomed->append(make_batch(0, 1, 0), 0);  // the object stays valid; writes are refused
    if (r || r.code() != Errc::closed) return void(error = "append to a removed log: " + describe(r));
    listed = (*m)->partitions();
    names_after_remove = rt.disk().list("disk2/logs").value();
  });
  REQUIRE(error == "");
  CHECK(listed == std::vector<TopicPartition>{tp("audit", 0), tp("my-topic", 2), tp("z", 0)});
  std::string delete_dir;
  for (const auto& n : names_after_remove) {
    if (ends_with(n, "-delete")) delete_dir = "disk2/logs/" + n;
  }
  REQUIRE_FALSE(delete_dir.empty());
  CHECK(delete_dir.rfind("disk2/logs/audit-1.", 0) == 0);
  CHECK(delete_dir.size() == std::string("disk2/logs/audit-1.").size() + 32 + 7);

  rig.node().power_off();  // the rename was synced: it survives
  int removed_early = -1, removed_late = -1;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    listed = (*m)->partitions();
    removed_early = (*m)->delete_expired();
    rt.sleep_for(std::chrono::seconds(6));
    removed_late = (*m)->delete_expired();
  });
  REQUIRE(error == "");
  CHECK(listed.size() == 3);
  CHECK(removed_early == 0);
  CHECK(removed_late == 1);
  CHECK_FALSE(rig.exists(delete_dir + "/" + segment_file_name(0, log_suffix)));
}

TEST_CASE("storage manager: the background tasks flush rolled segments, apply retention and remove deleted files",
          "[storage]") {
  Rig rig;
  std::string error;
  std::int64_t rp_after_rolls = -1, first_base_after_roll = -1;
  std::size_t segments_before = 0, segments_after = 0;
  std::int64_t log_start = 0;
  bool deleted_files_left = true;
  rig.run([&](Runtime& rt) {
    LogManager::Options o = manager_options();
    o.defaults.retention_ms = 60'000;
    auto m = LogManager::open(rt, o);
    if (!m) return void(error = m.error().message);
    (*m)->start();
    auto log = (*m)->create(tp("audit", 0), o.defaults);
    if (!log) return void(error = log.error().message);
    const std::int64_t now = to_unix_ms(rt.wall_now());
    for (int b = 0; b < 40; ++b) {
      auto r = (*log)->append(make_batch(b, 2, b < 30 ? now - 3'600'000 : now, 40), 0);
      if (!r) return void(error = r.error().message);
    }
    segments_before = (*log)->segment_count();
    rt.sleep_for(std::chrono::milliseconds(100));  // the roll-flush task runs
    rp_after_rolls = (*log)->recovery_point();
    first_base_after_roll = (*log)->segment_bases().back();
    rt.sleep_for(std::chrono::seconds(2));  // retention after the initial delay
    segments_after = (*log)->segment_count();
    log_start = (*log)->log_start_offset();
    rt.sleep_for(std::chrono::seconds(20));  // file.delete.delay.ms and the delete task's check
    auto names = rt.disk().list((*log)->dir());
    if (!names) return void(error = names.error().message);
    deleted_files_left = false;
    for (const auto& name : *names) {
      if (ends_with(name, ".deleted")) deleted_files_left = true;
    }
    if (auto st = (*m)->shutdown(); !st) error = st.error().message;
  });
  REQUIRE(error == "");
  CHECK(segments_before > 3);
  CHECK(rp_after_rolls == first_base_after_roll);  // everything before the active segment is synced
  CHECK(segments_after < segments_before);
  CHECK(log_start > 0);
  CHECK_FALSE(deleted_files_left);
}

TEST_CASE("storage manager: checkpoint files round-trip and malformed ones are refused with the line", "[storage]") {
  OffsetCheckpoint cp;
  cp[tp("a-b", 3)] = 17;
  cp[tp("a", 0)] = 0;
  const std::string text = format_offset_checkpoint(cp);
  CHECK(text == "0\n2\na 0 0\na-b 3 17\n");
  auto back = parse_offset_checkpoint(text);
  REQUIRE(back.ok());
  CHECK(*back == cp);
  CHECK(parse_offset_checkpoint("").ok());
  CHECK(parse_offset_checkpoint("1\n0\n").code() == Errc::corrupt);
  CHECK(parse_offset_checkpoint("0\n2\na 0 0\n").code() == Errc::corrupt);
  CHECK(parse_offset_checkpoint("0\n1\na x 0\n").code() == Errc::corrupt);
  CHECK_THAT(parse_offset_checkpoint("0\n1\na 0\n").error().message, Catch::Contains("line 3"));
}

TEST_CASE("storage manager: partition dir names cut at the last dash and segment names are 20 digits", "[storage]") {
  auto a = parse_partition_dir_name("my-topic-12");
  REQUIRE(a.ok());
  CHECK(a->topic == "my-topic");
  CHECK(a->partition == 12);
  CHECK(storage::partition_dir_name(*a) == "my-topic-12");
  CHECK_FALSE(parse_partition_dir_name("topic").ok());
  CHECK_FALSE(parse_partition_dir_name("topic-").ok());
  CHECK_FALSE(parse_partition_dir_name("-3").ok());
  auto dashed = parse_partition_dir_name("topic--1");  // topic "topic-", partition 1
  REQUIRE(dashed.ok());
  CHECK(dashed->topic == "topic-");
  CHECK(dashed->partition == 1);
  CHECK_FALSE(parse_partition_dir_name("topic-+1").ok());
  CHECK_FALSE(parse_partition_dir_name("recovery-point-offset-checkpoint").ok());
  CHECK_FALSE(parse_partition_dir_name("bad topic-0").ok());
  CHECK(segment_file_name(42, log_suffix) == "00000000000000000042.log");
  auto parsed = parse_segment_file_name("00000000000000000042.timeindex.deleted");
  REQUIRE(parsed.has_value());
  CHECK(parsed->base_offset == 42);
  CHECK(parsed->suffix == ".timeindex.deleted");
  CHECK_FALSE(parse_segment_file_name("leader-epoch-checkpoint").has_value());
}

TEST_CASE("storage manager: a brand-new log dir reports as clean, one with logs and no marker as unclean", "[storage]") {
  Rig rig;
  std::string error;
  LogManager::RecoveryReport fresh, crashed;
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    fresh = (*m)->recovery_report();
    auto log = (*m)->create(tp("audit", 0), small_segments(1500));
    if (!log) return void(error = log.error().message);
  });
  REQUIRE(error == "");
  rig.node().kill();  // no clean shutdown: disk1 (audit-0's dir) now holds a log and no marker
  rig.run([&](Runtime& rt) {
    auto m = LogManager::open(rt, manager_options());
    if (!m) return void(error = m.error().message);
    crashed = (*m)->recovery_report();
  });
  REQUIRE(error == "");
  CHECK(fresh.clean_dirs == std::vector<std::string>{"disk1/logs", "disk2/logs"});
  CHECK(fresh.unclean_dirs.empty());
  CHECK(crashed.clean_dirs.size() == 1);
  CHECK(crashed.unclean_dirs.size() == 1);
}
