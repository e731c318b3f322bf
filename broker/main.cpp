// keel: one Kafka-compatible node (broker and KRaft controller) on real sockets and files.
//
//   keel config/server.properties [--override key=value]...
//
// Exit codes: 0 after a clean stop (SIGINT / SIGTERM), 1 when the broker fails to start or stops on
// an error, 2 for bad arguments or a bad configuration (the message names the key).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>

#include "broker/platform/posix/paths.h"
#include "broker/platform/posix/runtime.h"
#include "broker/node/node.h"
#include "broker/config/config.h"
#include "broker/base/version.h"

namespace {

using namespace keel;

constexpr std::size_t config_bytes_max = 1 << 20;

Result<std::string> read_config_file(posix::PosixRuntime& rt, const std::string& path) {
  Result<std::string> out = make_error(Errc::cancelled, "not read");
  rt.spawn("read-config", [&] {
    auto file = rt.disk().open(posix::absolute_path(path),
                               OpenOptions{.create = false, .exclusive = false, .truncate = false, .read_only = true});
    if (!file) {
      out = make_error(file.error().code, fmt::format("cannot read {}: {}", path, file.error().message));
      return;
    }
    auto size = file->size();
    if (!size) {
      out = size.error();
      return;
    }
    if (*size > config_bytes_max) {
      out = make_error(Errc::invalid_argument, fmt::format("{}: {} bytes is too large for a config file", path, *size));
      return;
    }
    std::string text(*size, '\0');
    if (auto st = file->read_exact_at(0, std::as_writable_bytes(std::span(text))); !st) {
      out = st.error();
      return;
    }
    out = std::move(text);
  });
  rt.run_until_idle();
  return out;
}

Severity parse_level(const std::string& level) {
  if (level == "debug") return Severity::debug;
  if (level == "warn") return Severity::warn;
  if (level == "error") return Severity::error;
  return Severity::info;
}

int run(config::BrokerConfig config, Severity level) {
  posix::PosixOptions options;
  options.node_id = NodeId{config.node_id};
  options.data_root = "/";
  options.log_level = level;
  posix::PosixRuntime rt(options);
  rt.stop_on_signals();
  // Absolute, as the operator means them (data root "/"): traces print them as they are.
  for (auto& dir : config.log_dirs) dir = posix::absolute_path(dir);
  if (!config.metadata_log_dir.empty()) config.metadata_log_dir = posix::absolute_path(config.metadata_log_dir);
  int exit_code = 0;
  {
    node::Node node(rt, config);
    rt.spawn("node", [&] {
      if (auto st = node.start(); !st) {
        std::fprintf(stderr, "keel: failed to start: %s\n", st.error().message.c_str());
        exit_code = 1;
        rt.stop();
        return;
      }
      for (const auto& address : node.bound()) {
        std::fprintf(stderr, "keel: node %d serving Kafka on %s\n", config.node_id, address.to_string().c_str());
      }
      (void)node.serve();
    });
    rt.run_until_stop_requested();
    if (exit_code == 0) {
      // A clean stop: hand leadership over (controlled shutdown, while the node's tasks still run),
      // then flush the logs and write their checkpoints, so the next start needs no recovery.
      rt.spawn("shutdown", [&] {
        if (auto st = node.shutdown(); !st) {
          std::fprintf(stderr, "keel: shutdown: %s\n", st.error().message.c_str());
          exit_code = 1;
        }
        rt.stop();  // whatever still runs (client connections' readers, timers) goes now
      });
      rt.run_until_idle(std::chrono::seconds(60));
      std::fprintf(stderr, "keel: stopped\n");
    }
  }
  return exit_code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"keel: a Kafka-compatible broker"};
  std::string config_path;
  std::vector<std::string> overrides;
  std::string level = "info";
  app.add_option("config", config_path, "server.properties file")->required();
  app.add_option("--override", overrides, "key=value, applied after the file (repeatable)");
  app.add_option("--log-level", level, "debug, info, warn or error")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  app.set_version_flag("--version", std::string(keel::version()));
  CLI11_PARSE(app, argc, argv);

  std::string text;
  {
    keel::posix::PosixOptions options;
    options.data_root = "/";
    keel::posix::PosixRuntime reader(options);
    auto read = read_config_file(reader, config_path);
    if (!read) {
      std::fprintf(stderr, "keel: %s\n", read.error().message.c_str());
      return 2;
    }
    text = std::move(*read);
  }
  auto config = keel::config::parse_broker_config(text, config_path, overrides);
  if (!config) {
    std::fprintf(stderr, "keel: bad configuration: %s\n", config.error().message.c_str());
    return 2;
  }
  for (const auto& key : keel::config::ignored_keys(*config)) {
    std::fprintf(stderr, "keel: %s is a Kafka setting with no effect in Keel; ignored\n", key.c_str());
  }
  return run(std::move(*config), parse_level(level));
}
