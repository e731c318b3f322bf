#include "broker/base/topic_partition.h"

namespace keel {

bool is_legal_topic_name(std::string_view topic) {
  constexpr std::size_t topic_name_chars_max = 249;
  if (topic.empty() || topic.size() > topic_name_chars_max || topic == "." || topic == "..") return false;
  for (char c : topic) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace keel
