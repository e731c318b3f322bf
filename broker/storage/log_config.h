#pragma once
// The settings of one partition log: the broker's log.* defaults, overridden per topic by the topic
// configs (segment.bytes, retention.ms, ...). Names follow Kafka's; each field says its broker key.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>

#include "broker/base/time.h"
#include "broker/protocol/compression.h"

namespace keel::storage {

struct LogConfig {
  // Roll the active segment when it would pass this size (log.segment.bytes / segment.bytes).
  std::int64_t segment_bytes = 1073741824;
  // Roll the active segment when its first batch is older than this (log.roll.ms / segment.ms).
  std::int64_t segment_ms = 604800000;
  // Roll up to this much earlier than segment_ms, a random amount drawn per segment, so that logs
  // created together do not all roll at once (log.roll.jitter.ms / segment.jitter.ms).
  std::int64_t segment_jitter_ms = 0;
  // Bytes of log between two sparse index entries (log.index.interval.bytes / index.interval.bytes).
  std::int32_t index_interval_bytes = 4096;
  // The most bytes one offset or time index may hold; a full index rolls the segment
  // (log.index.size.max.bytes / segment.index.bytes).
  std::int32_t segment_index_bytes = 10485760;
  // Delete whole segments whose newest record is older than this; -1 keeps them forever
  // (log.retention.ms / retention.ms).
  std::int64_t retention_ms = 604800000;
  // Delete the oldest segments while the log is larger than this; -1 means no limit
  // (log.retention.bytes / retention.bytes).
  std::int64_t retention_bytes = -1;
  // fsync once this many messages are unflushed (log.flush.interval.messages / flush.messages).
  // Kafka's default never fsyncs on append and relies on replication. 1 syncs every append before it
  // is acknowledged: Keel's documented "sync before ack" setting.
  std::int64_t flush_interval_messages = std::numeric_limits<std::int64_t>::max();
  // fsync a log whose last flush is older than this (log.flush.interval.ms / flush.ms).
  std::int64_t flush_interval_ms = std::numeric_limits<std::int64_t>::max();
  // How long a segment renamed to .deleted stays before its files are removed
  // (log.segment.delete.delay.ms / file.delete.delay.ms).
  std::int64_t file_delete_delay_ms = 60000;
  // The largest record batch the log accepts (message.max.bytes / max.message.bytes).
  std::int32_t max_message_bytes = 1048588;
  // LogAppendTime instead of CreateTime for stored batches (log.message.timestamp.type /
  // message.timestamp.type): the leader stamps each batch's max timestamp with its wall clock.
  bool log_append_time = false;
  // CreateTime only: a record timestamp more than this before (after) the leader's wall clock is
  // refused with INVALID_TIMESTAMP (log.message.timestamp.before.max.ms / message.timestamp.before.max.ms,
  // and .after.max.ms; Kafka 4's defaults: no bound before, one hour after).
  std::int64_t timestamp_before_max_ms = std::numeric_limits<std::int64_t>::max();
  std::int64_t timestamp_after_max_ms = 3600000;
  // Replication settings Kafka keeps with the log's: the fewest in-sync replicas an acks=all produce
  // needs (min.insync.replicas), and whether a replica outside the ISR may become leader, losing
  // what it lacks (unclean.leader.election.enable).
  std::int32_t min_insync_replicas = 1;
  bool unclean_leader_election = false;
  // The codec the leader stores batches in (compression.type): nullopt keeps the producer's codec
  // ("producer"); otherwise a batch in another codec is recompressed to it, as Kafka's LogValidator.
  std::optional<protocol::Compression> compression;
  // cleanup.policy: retention deletes segments only when "delete" is among the policies (a
  // compact-only topic keeps every segment; compaction itself comes with the log cleaner).
  bool cleanup_delete = true;
  bool cleanup_compact = false;
  // Topic configs Keel accepts, validates, stores and describes but does not act on (compaction
  // tuning, tiered storage, preallocation, replication throttles): their values by topic key.
  std::map<std::string, std::string> inert;
};

}  // namespace keel::storage
