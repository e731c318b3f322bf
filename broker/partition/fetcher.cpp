#include "broker/partition/fetcher.h"
#include "broker/base/coverage.h"

#include <fmt/format.h>

#include <algorithm>

#include "broker/metadata/image.h"
#include "broker/partition/replica_manager.h"
#include "broker/protocol/errors.h"
#include "broker/protocol/record_batch.h"

namespace keel::partition {

using protocol::ErrorCode;

namespace {

// The versions the fetcher speaks (what Keel's front end serves).
constexpr std::int16_t offset_for_leader_epoch_version = 4;
constexpr std::int16_t fetch_version = 12;

std::string error_text(std::int16_t code) { return std::string(protocol::error_name(static_cast<ErrorCode>(code))); }

// Groups per-partition requests by topic, in partition order, as a request wants them.
template <class Topic, class Part>
void add_partition(std::vector<Topic>& topics, const TopicPartition& tp, Part part) {
  if (topics.empty() || topics.back().topic != tp.topic) {
    Topic t;
    t.topic = tp.topic;
    topics.push_back(std::move(t));
  }
  topics.back().partitions.push_back(std::move(part));
}

}  // namespace

ReplicaFetcher::ReplicaFetcher(Runtime& rt, FetcherOptions options, const metadata::MetadataImage& image)
    : rt_(rt), options_(std::move(options)), image_(image) {}

ReplicaFetcher::~ReplicaFetcher() {
  if (conn_) conn_->close();
}

void ReplicaFetcher::start() {
  KEEL_ASSERT(!started_);
  started_ = true;
  task_ = rt_.spawn(fmt::format("replica-fetcher-{}", options_.leader), [self = shared_from_this()] { self->run(); });
}

void ReplicaFetcher::stop() {
  stopped_ = true;
  partitions_.clear();
  if (conn_) conn_->close();
  wakeup_.set();
}

void ReplicaFetcher::cancel() {
  stop();
  auto& executor = rt_.executor();
  if (started_ && task_.id != Executor::current_task().id && executor.alive(task_)) executor.cancel(task_);
}

void ReplicaFetcher::add(std::shared_ptr<Partition> partition) {
  KEEL_ASSERT_EQ(partition->role(), Role::follower);
  KEEL_ASSERT_EQ(partition->leader(), options_.leader);
  State s;
  s.generation = partition->generation();
  s.partition = std::move(partition);
  const TopicPartition tp = s.partition->tp();
  partitions_[tp] = std::move(s);
  wakeup_.set();
}

void ReplicaFetcher::remove(const TopicPartition& tp) { partitions_.erase(tp); }

ReplicaFetcher::State* ReplicaFetcher::current(const TopicPartition& tp) {
  auto it = partitions_.find(tp);
  if (it == partitions_.end()) return nullptr;
  const Partition& p = *it->second.partition;
  if (p.role() != Role::follower || p.generation() != it->second.generation) return nullptr;
  return &it->second;
}

bool ReplicaFetcher::ready(const State& s) const { return rt_.now() >= s.retry_at; }

std::optional<Instant> ReplicaFetcher::next_retry() const {
  std::optional<Instant> next;
  for (const auto& [tp, s] : partitions_) {
    if (!next || s.retry_at < *next) next = s.retry_at;
  }
  return next;
}

void ReplicaFetcher::back_off(State& s, std::string_view why) {
  rt_.trace("ReplicaFetchFailed").detail("Partition", s.partition->tp().to_string()).detail("Leader", options_.leader)
      .detail("Error", why);
  s.truncated = false;
  s.rounds = 0;
  s.retry_at = rt_.now() + options_.backoff;
}

void ReplicaFetcher::back_off_all(const Error& why) {
  rt_.trace("ReplicaFetcherDisconnected").detail("Leader", options_.leader).detail("Error", why.message)
      .detail("Partitions", partitions_.size());
  if (conn_) conn_->close();
  conn_.reset();
  for (auto& [tp, s] : partitions_) {
    s.truncated = false;
    s.rounds = 0;
    s.retry_at = rt_.now() + options_.backoff;
  }
}

Result<std::shared_ptr<rpc::BrokerConnection>> ReplicaFetcher::connection() {
  const auto address = broker_address(image_, options_.leader, options_.listener);
  if (!address) return make_error(Errc::refused, fmt::format("leader {} has no known address", options_.leader));
  if (conn_ && conn_->usable() && conn_->address() == *address) return conn_;
  if (conn_) conn_->close();
  conn_ = std::make_shared<rpc::BrokerConnection>(rt_, *address, "keel-replica-fetcher", options_.request_timeout);
  if (auto st = conn_->open(options_.request_timeout); !st) {
    conn_.reset();
    return st.error();
  }
  return conn_;
}

void ReplicaFetcher::run() {
  while (!stopped_) {
    // Partitions that stopped being followed here (a role change, a new epoch) go first.
    std::erase_if(partitions_, [&](const auto& entry) {
      return entry.second.partition->role() != Role::follower ||
             entry.second.partition->generation() != entry.second.generation;
    });
    const bool any_ready = std::any_of(partitions_.begin(), partitions_.end(), [&](const auto& e) { return ready(e.second); });
    if (!any_ready) {
      const auto next = next_retry();
      wakeup_.reset();
      wakeup_.wait(next ? *next : rt_.now() + std::chrono::seconds(1));
      continue;
    }
    auto conn = connection();
    if (!conn) {
      back_off_all(conn.error());
      continue;
    }
    if (!truncation_round(**conn)) continue;
    (void)fetch_round(**conn);
  }
}

// ---- truncation ----

// Everything below runs in the fetcher's task and may suspend (a request, a partition's mutex, a
// disk write); meanwhile the replica manager may add or remove partitions. So work is planned as a
// list of (partition, generation) first, and each step looks its state up again after any wait:
// a state that is gone or of another generation is left alone.

ReplicaFetcher::State* ReplicaFetcher::still_current(const Work& w) {
  State* s = current(w.tp);
  return s != nullptr && s->generation == w.generation ? s : nullptr;
}

void ReplicaFetcher::truncate_without_epochs(const Work& w) {
  // No epochs known (an empty log, or one written before epochs were tracked): the high
  // watermark is all that is known to be safe.
  Partition& p = *w.partition;
  Mutex::Guard guard(p.mutex());
  State* s = still_current(w);
  if (s == nullptr) return;
  if (auto st = p.truncate(p.high_watermark(), TruncateReason::to_high_watermark, "no leader epochs"); !st) {
    if ((s = still_current(w))) back_off(*s, st.error().message);
    return;
  }
  KEEL_SOMETIMES("fetcher.truncated_without_epochs");
  if ((s = still_current(w))) s->truncated = true;
}

void ReplicaFetcher::apply_epoch_answer(const Work& w, std::int32_t epoch, std::int64_t end_offset) {
  Partition& p = *w.partition;
  Mutex::Guard guard(p.mutex());
  if (still_current(w) == nullptr) return;
  const TruncationStep step =
      follower_truncation(p.epochs(), p.log_end_offset(), p.high_watermark(), EpochEndOffset{epoch, end_offset});
  const auto why = fmt::format("leader epoch {} ends at {}", epoch, end_offset);
  const auto st = p.truncate(step.offset, TruncateReason::leader_epoch_answer, why);
  State* s = still_current(w);
  if (s == nullptr) return;
  if (!st) return back_off(*s, st.error().message);
  if (step.complete) {
    if (s->rounds > 0) KEEL_SOMETIMES("fetcher.truncation.done_after_second_round");
    s->truncated = true;
    s->rounds = 0;
  } else if (++s->rounds >= options_.truncation_rounds_max) {
    KEEL_SOMETIMES("fetcher.truncation.rounds_exhausted");
    back_off(*s, fmt::format("no common log prefix after {} rounds", s->rounds));
  } else {
    KEEL_SOMETIMES("fetcher.truncation.another_round");
  }
}

std::vector<ReplicaFetcher::Work> ReplicaFetcher::plan(bool truncated) const {
  std::vector<Work> out;
  for (const auto& [tp, s] : partitions_) {
    if (s.truncated == truncated && ready(s)) out.push_back(Work{tp, s.partition, s.generation});
  }
  return out;
}

// Asks the leader where the latest epoch of every partition still truncating ends, in one request,
// and cuts each log there. Returns false when the connection broke (every partition backs off).
bool ReplicaFetcher::truncation_round(rpc::BrokerConnection& conn) {
  protocol::OffsetForLeaderEpochRequest request;
  request.replica_id = options_.self.value;
  std::vector<Work> asked;
  for (const Work& w : plan(false)) {
    const auto latest = w.partition->epochs().latest_epoch();
    if (!latest) {
      truncate_without_epochs(w);
      continue;
    }
    add_partition(request.topics, w.tp,
                  protocol::OffsetForLeaderEpochRequest::Partition{w.tp.partition, w.partition->leader_epoch(), *latest});
    asked.push_back(w);
  }
  if (asked.empty()) return true;
  auto response = conn.call<protocol::OffsetForLeaderEpochResponse>(request, offset_for_leader_epoch_version);
  if (!response) {
    back_off_all(response.error());
    return false;
  }
  for (const auto& topic : response->topics) {
    for (const auto& answer : topic.partitions) {
      const TopicPartition tp{topic.topic, answer.partition};
      const auto w = std::find_if(asked.begin(), asked.end(), [&](const Work& a) { return a.tp == tp; });
      if (w == asked.end()) continue;  // not asked about
      State* s = still_current(*w);
      if (s == nullptr || s->truncated) continue;  // changed while waiting
      if (answer.error_code != 0) {
        back_off(*s, fmt::format("OffsetForLeaderEpoch: {}", error_text(answer.error_code)));
        continue;
      }
      apply_epoch_answer(*w, answer.leader_epoch, answer.end_offset);
    }
  }
  return true;
}

// ---- fetching ----

void ReplicaFetcher::apply_fetched(const Work& w, std::int64_t fetch_offset, protocol::FetchResponse::PartitionData& data) {
  Partition& p = *w.partition;
  Mutex::Guard guard(p.mutex());
  if (still_current(w) == nullptr || p.log_end_offset() != fetch_offset) return;  // changed meanwhile: ask again
  Status st;
  bool truncated = true;
  if (data.error_code == static_cast<std::int16_t>(ErrorCode::offset_out_of_range) &&
      fetch_offset < data.log_start_offset) {
    // The leader no longer has what this replica lacks (retention took it; a replica that has just
    // joined starts empty): start over at the leader's log start.
    st = p.start_over_at(data.log_start_offset);
  } else if (data.error_code != 0) {
    // The leader moved on to a later epoch than this follower knows (or this one is ahead of it):
    // the follower waits for the metadata that says so.
    if (data.error_code == static_cast<std::int16_t>(ErrorCode::fenced_leader_epoch)) KEEL_SOMETIMES("fetcher.fenced_leader_epoch");
    if (data.error_code == static_cast<std::int16_t>(ErrorCode::unknown_leader_epoch)) KEEL_SOMETIMES("fetcher.unknown_leader_epoch");
    st = make_error(Errc::refused, fmt::format("Fetch: {}", error_text(data.error_code)));
  } else if (data.diverging_epoch.end_offset >= 0) {
    KEEL_SOMETIMES("fetcher.diverging_epoch");
    const TruncationStep step = follower_truncation(p.epochs(), p.log_end_offset(), p.high_watermark(),
                                                    EpochEndOffset{data.diverging_epoch.epoch, data.diverging_epoch.end_offset});
    st = p.truncate(step.offset, TruncateReason::leader_epoch_answer, "diverging epoch");
    truncated = step.complete;  // not complete: ask OffsetForLeaderEpoch again before fetching
  } else {
    st = append_fetched(p, data);
  }
  State* s = still_current(w);
  if (s == nullptr) return;
  if (!st) return back_off(*s, st.error().message);
  s->truncated = truncated;
}

Status ReplicaFetcher::append_fetched(Partition& p, protocol::FetchResponse::PartitionData& data) {
  if (data.records && !data.records->empty()) {
    // The one scan of the fetched bytes: whole batches with their CRCs checked; a partial batch at
    // the end (the leader's byte limit cut it) is fetched whole next time.
    auto scan = protocol::scan_batches(*data.records, true);
    if (scan.corruption) return make_error(Errc::corrupt, scan.corruption->message);
    if (scan.valid_bytes > 0) {
      const auto& first = scan.batches.front().second;
      if (first.base_offset < p.log_end_offset()) {
        // Only an empty log whose start lies inside the first batch can take it (the leader's log
        // start fell inside that batch); anything else below the log end is the leader's error.
        if (p.log().log_start_offset() != p.log_end_offset() || first.last_offset() < p.log_end_offset())
          return make_error(Errc::corrupt, fmt::format("fetched batch at {} below the log end {}", first.base_offset,
                                                       p.log_end_offset()));
        if (auto st = p.start_over_at_batch(first.base_offset); !st) return st;
      }
      data.records->resize(scan.valid_bytes);
      if (auto st = p.append_as_follower(std::move(*data.records), scan); !st) return st;
    }
  }
  p.follower_high_watermark(data.high_watermark);
  if (data.log_start_offset >= 0) return p.follower_log_start(data.log_start_offset);
  return {};
}

// One Fetch for every partition that is done truncating, from each log's end. Returns false when
// the connection broke.
bool ReplicaFetcher::fetch_round(rpc::BrokerConnection& conn) {
  protocol::FetchRequest request;
  request.replica_id = options_.self.value;
  request.max_wait_ms = static_cast<std::int32_t>(to_ms(options_.wait_max));
  request.min_bytes = 1;
  request.max_bytes = options_.fetch_max_bytes;
  std::vector<std::pair<Work, std::int64_t>> asked;  // with the offset each was fetched from
  for (const Work& w : plan(true)) {
    const Partition& p = *w.partition;
    protocol::FetchRequest::FetchPartition part;
    part.partition = w.tp.partition;
    part.current_leader_epoch = p.leader_epoch();
    part.fetch_offset = p.log_end_offset();
    part.last_fetched_epoch = p.epochs().latest_epoch().value_or(-1);
    part.log_start_offset = p.log().log_start_offset();
    part.partition_max_bytes = options_.fetch_max_bytes;
    add_partition(request.topics, w.tp, part);
    asked.emplace_back(w, part.fetch_offset);
  }
  if (asked.empty()) return true;
  auto response = conn.call<protocol::FetchResponse>(request, fetch_version);
  if (!response) {
    back_off_all(response.error());
    return false;
  }
  if (response->error_code != 0) {
    back_off_all(make_error(Errc::refused, fmt::format("Fetch: {}", error_text(response->error_code))));
    return false;
  }
  for (auto& topic : response->responses) {
    for (auto& data : topic.partitions) {
      const TopicPartition tp{topic.topic, data.partition_index};
      const auto a = std::find_if(asked.begin(), asked.end(), [&](const auto& x) { return x.first.tp == tp; });
      if (a == asked.end()) continue;
      apply_fetched(a->first, a->second, data);
    }
  }
  return true;
}

}  // namespace keel::partition
