#include "broker/node/log_dirs.h"

#include <fmt/format.h>

#include <array>
#include <charconv>
#include <set>

#include "broker/config/properties.h"
#include "broker/storage/checkpoint.h"

namespace keel::node {

namespace {

constexpr std::string_view uuid_alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A uuid as Kafka prints one: 16 bytes in base64url without padding (22 characters).
std::string base64url(const std::array<std::uint8_t, 16>& bytes) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (std::uint8_t b : bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += uuid_alphabet[(acc >> bits) & 0x3f];
    }
  }
  if (bits > 0) out += uuid_alphabet[(acc << (6 - bits)) & 0x3f];
  return out;
}

std::uint64_t fnv1a(std::string_view text, std::uint64_t h) {
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001B3ull;
  }
  return h;
}

std::array<std::uint8_t, 16> uuid_from(std::uint64_t hi, std::uint64_t lo) {
  std::array<std::uint8_t, 16> bytes{};
  for (int i = 0; i < 8; ++i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
    bytes[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
  }
  return bytes;
}

// The dirs that hold the node's data: log.dirs, and metadata.log.dir when it is another one.
std::vector<std::string> data_dirs(const config::BrokerConfig& config) {
  std::vector<std::string> dirs = config.log_dirs;
  if (!config.metadata_log_dir.empty() &&
      std::find(dirs.begin(), dirs.end(), config.metadata_log_dir) == dirs.end()) {
    dirs.push_back(config.metadata_log_dir);
  }
  return dirs;
}

// A dir is empty when it holds nothing but what a crash during formatting may leave (the temporary
// file of the atomic write).
bool formattable(const std::vector<std::string>& names) {
  for (const auto& name : names) {
    if (name != fmt::format("{}.tmp", meta_properties_file)) return false;
  }
  return true;
}

Status check_meta(const MetaProperties& meta, const std::string& dir, const config::BrokerConfig& config,
                  const std::string& cluster_id) {
  if (meta.node_id != config.node_id) {
    return make_error(Errc::invalid_argument,
                      fmt::format("log dir {} belongs to node {} (its meta.properties), and this is node {}: two nodes' "
                                  "data must not mix; give this node its own log dir",
                                  dir, meta.node_id, config.node_id));
  }
  if (meta.cluster_id != cluster_id) {
    return make_error(Errc::invalid_argument,
                      fmt::format("log dir {} belongs to cluster {} (its meta.properties), and this node's cluster is {} "
                                  "({}): set cluster.id={} to keep using this dir, or give the node a new log dir",
                                  dir, meta.cluster_id, cluster_id,
                                  config.cluster_id.empty() ? "derived from controller.quorum.voters" : "cluster.id",
                                  meta.cluster_id));
  }
  return {};
}

Status prepare_dir(Runtime& rt, const std::string& dir, const config::BrokerConfig& config,
                   const std::string& cluster_id, std::set<std::string>& directory_ids) {
  const std::string path = join_path(dir, std::string(meta_properties_file));
  auto text = storage::read_whole_file(rt.disk(), path);
  if (text) {
    auto meta = parse_meta_properties(*text, path);
    if (!meta) return meta.error();
    if (auto st = check_meta(*meta, dir, config, cluster_id); !st) return st;
    if (!directory_ids.insert(meta->directory_id).second) {
      return make_error(Errc::invalid_argument, fmt::format("log dir {} has the directory.id {} of another log dir of "
                                                            "this node (a copied dir?)", dir, meta->directory_id));
    }
    return {};
  }
  if (text.error().code != Errc::not_found) return text.error();
  if (auto st = storage::make_dir_durable(rt.disk(), dir); !st) return st;
  auto names = rt.disk().list(dir);
  if (!names) return names.error();
  if (!formattable(*names)) {
    return make_error(Errc::invalid_argument,
                      fmt::format("log dir {} holds data ({}, ...) but no meta.properties: it was not written by this "
                                  "version of Keel, or was damaged; move it away or give the node an empty log dir",
                                  dir, names->front()));
  }
  MetaProperties meta{cluster_id, config.node_id, {}};
  std::array<std::uint8_t, 16> id{};
  for (auto& b : id) b = static_cast<std::uint8_t>(rt.random().below(256));
  meta.directory_id = base64url(id);
  directory_ids.insert(meta.directory_id);
  if (auto st = storage::write_file_atomically(rt.disk(), path, format_meta_properties(meta)); !st) return st;
  rt.trace("LogDirFormatted").detail("Dir", dir).detail("ClusterId", cluster_id).detail("NodeId", config.node_id)
      .detail("DirectoryId", meta.directory_id);
  return {};
}

}  // namespace

std::string format_meta_properties(const MetaProperties& meta) {
  return fmt::format("#Written by Keel\ncluster.id={}\ndirectory.id={}\nnode.id={}\nversion=1\n", meta.cluster_id,
                     meta.directory_id, meta.node_id);
}

Result<MetaProperties> parse_meta_properties(std::string_view text, std::string_view file) {
  auto properties = config::parse_properties(text, file);
  if (!properties) return make_error(Errc::corrupt, properties.error().message);
  MetaProperties meta;
  std::string version;
  for (const auto& p : *properties) {
    if (p.key == "cluster.id") meta.cluster_id = p.value;
    else if (p.key == "directory.id") meta.directory_id = p.value;
    else if (p.key == "version") version = p.value;
    else if (p.key == "node.id") {
      auto [end, ec] = std::from_chars(p.value.data(), p.value.data() + p.value.size(), meta.node_id);
      if (ec != std::errc() || end != p.value.data() + p.value.size()) {
        return make_error(Errc::corrupt, fmt::format("{}: node.id '{}' is not a number", file, p.value));
      }
    }
  }
  if (version != "1") return make_error(Errc::corrupt, fmt::format("{}: version '{}', expected 1", file, version));
  if (meta.cluster_id.empty()) return make_error(Errc::corrupt, fmt::format("{}: no cluster.id", file));
  if (meta.node_id < 0) return make_error(Errc::corrupt, fmt::format("{}: no node.id", file));
  return meta;
}

std::string cluster_id_for(const config::BrokerConfig& config) {
  if (!config.cluster_id.empty()) return config.cluster_id;
  std::string voters;
  for (const auto& v : config.controller_quorum_voters) voters += fmt::format("{}@{}:{},", v.id, v.host, v.port);
  return base64url(uuid_from(fnv1a(voters, 0xCBF29CE484222325ull), fnv1a(voters, 0x84222325CBF29CE4ull)));
}

Result<std::string> prepare_log_dirs(Runtime& rt, const config::BrokerConfig& config) {
  const std::string cluster_id = cluster_id_for(config);
  std::set<std::string> directory_ids;
  for (const auto& dir : data_dirs(config)) {
    if (auto st = prepare_dir(rt, dir, config, cluster_id, directory_ids); !st) return st.error();
  }
  return cluster_id;
}

}  // namespace keel::node
