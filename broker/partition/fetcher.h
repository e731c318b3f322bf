#pragma once
// One replica fetcher per leader broker (Kafka's ReplicaFetcherThread): every partition this broker
// follows on that leader is copied over one connection, by one task, in one Fetch request at a time.
//
// Each partition goes through two phases per leader epoch, kept per partition:
//   truncating: ask the leader where this replica's latest epoch ends (OffsetForLeaderEpoch, all
//               truncating partitions in one request) and cut the log there, round after round until
//               the logs share a prefix (KIP-101, KIP-279);
//   fetching:   Fetch from the log end with the last fetched epoch (all fetching partitions in one
//               request); a diverging epoch in the answer (KIP-320) sends it back to truncating.
// A partition whose request failed waits replica.fetch.backoff.ms on its own; a connection that
// broke sends every partition back to truncating after the backoff.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker/base/topic_partition.h"
#include "broker/partition/partition.h"
#include "broker/platform/network.h"
#include "broker/platform/runtime.h"
#include "broker/platform/sync.h"
#include "broker/protocol/messages.h"
#include "broker/rpc/connection.h"

namespace keel::metadata {
class MetadataImage;
}

namespace keel::partition {

struct FetcherOptions {
  BrokerId self = -1;
  BrokerId leader = -1;
  std::string listener;  // the leader's listener to connect to (inter.broker.listener.name)
  Duration wait_max = std::chrono::milliseconds(500);   // replica.fetch.wait.max.ms
  std::int32_t fetch_max_bytes = 1 << 20;               // replica.fetch.max.bytes
  Duration backoff = std::chrono::milliseconds(1000);   // replica.fetch.backoff.ms
  Duration request_timeout = std::chrono::seconds(30);
  int truncation_rounds_max = 64;  // OffsetForLeaderEpoch rounds before a partition backs off
};

// Held by shared_ptr: its task keeps it alive until the task ends, after the replica manager let go.
class ReplicaFetcher : public std::enable_shared_from_this<ReplicaFetcher> {
 public:
  ReplicaFetcher(Runtime& rt, FetcherOptions options, const metadata::MetadataImage& image);
  ~ReplicaFetcher();
  ReplicaFetcher(const ReplicaFetcher&) = delete;
  ReplicaFetcher& operator=(const ReplicaFetcher&) = delete;

  // Follows `partition` from now on, at its current generation (it became a follower of this
  // leader): truncation first.
  void add(std::shared_ptr<Partition> partition);
  // Stops following it (a new leader, a new epoch, no longer a replica).
  void remove(const TopicPartition& tp);
  bool empty() const { return partitions_.empty(); }
  std::size_t size() const { return partitions_.size(); }
  BrokerId leader() const { return options_.leader; }

  void start();
  // Asks the task to end (it finishes what it is applying, then returns) and closes the connection.
  void stop();
  // Ends the task now (a broker shutting down): cancelled where it waits.
  void cancel();

 private:
  struct State {
    std::shared_ptr<Partition> partition;
    std::uint64_t generation = 0;
    bool truncated = false;  // this epoch's truncation is done: fetch
    int rounds = 0;          // truncation rounds so far in this epoch
    Instant retry_at{};      // backing off after a failure until then
  };

  // One partition to work on in a round, as it was when the round was planned.
  struct Work {
    TopicPartition tp;
    std::shared_ptr<Partition> partition;  // kept alive across the round's waits
    std::uint64_t generation = 0;
  };

  void run();
  bool ready(const State& s) const;
  // The state of `tp` if it is still followed at the generation the state was made for.
  State* current(const TopicPartition& tp);
  State* still_current(const Work& w);
  std::vector<Work> plan(bool truncated) const;
  Result<std::shared_ptr<rpc::BrokerConnection>> connection();
  void back_off(State& s, std::string_view why);
  void back_off_all(const Error& why);
  bool truncation_round(rpc::BrokerConnection& conn);
  bool fetch_round(rpc::BrokerConnection& conn);
  void truncate_without_epochs(const Work& w);
  void apply_epoch_answer(const Work& w, std::int32_t epoch, std::int64_t end_offset);
  void apply_fetched(const Work& w, std::int64_t fetch_offset, protocol::FetchResponse::PartitionData& data);
  Status append_fetched(Partition& p, protocol::FetchResponse::PartitionData& data);
  std::optional<Instant> next_retry() const;

  Runtime& rt_;
  FetcherOptions options_;
  const metadata::MetadataImage& image_;
  std::map<TopicPartition, State> partitions_;
  std::shared_ptr<rpc::BrokerConnection> conn_;
  Event wakeup_;
  TaskRef task_{};
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace keel::partition
