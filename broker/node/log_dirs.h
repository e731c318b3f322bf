#pragma once
// The identity of a node's log dirs: meta.properties, in Kafka's format (KIP-858 version 1):
//
//   #Written by Keel
//   cluster.id=<22-character base64url uuid>
//   directory.id=<22-character base64url uuid, one per log dir>
//   node.id=<node.id>
//   version=1
//
// Kafka needs `kafka-storage.sh format` before a first start; Keel formats an empty log dir itself on
// first start. A log dir formatted for another node or another cluster refuses start-up, so two
// nodes' data can never mix; so does a dir that holds data but no meta.properties (written by
// something else, or damaged).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "broker/base/result.h"
#include "broker/config/config.h"
#include "broker/platform/runtime.h"

namespace keel::node {

inline constexpr std::string_view meta_properties_file = "meta.properties";

struct MetaProperties {
  std::string cluster_id;
  std::int32_t node_id = -1;
  std::string directory_id;
};

std::string format_meta_properties(const MetaProperties& meta);
// Errc::corrupt naming the file and the line or key that is wrong.
Result<MetaProperties> parse_meta_properties(std::string_view text, std::string_view file);

// The cluster id a config names: cluster.id when set, else one derived from controller.quorum.voters
// (the same on every node of one cluster, different for another set of voters).
std::string cluster_id_for(const config::BrokerConfig& config);

// Every log dir (and metadata.log.dir) of the node: an empty or missing one is formatted (its
// meta.properties written durably); one formatted before must name this node and cluster. Returns
// the cluster id. Errors name the dir and what does not match.
Result<std::string> prepare_log_dirs(Runtime& rt, const config::BrokerConfig& config);

}  // namespace keel::node
