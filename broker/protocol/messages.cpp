#include "broker/protocol/messages.h"

namespace keel::protocol {

std::span<const ApiInfo> supported_apis() { return api_table; }

std::string_view api_name(ApiKey key) {
  const ApiInfo* info = find_api(static_cast<std::int16_t>(key));
  return info != nullptr ? info->name : std::string_view("Unknown");
}

bool is_valid_client_software_field(std::string_view value) {
  auto alnum = [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
  };
  if (value.empty() || !alnum(value.front()) || !alnum(value.back())) return false;
  for (char ch : value)
    if (!alnum(ch) && ch != '-' && ch != '.') return false;
  return true;
}

#define KEEL_PROTOCOL_INSTANTIATE_CODEC(M)                         \
  template void encode<M>(Writer&, const M&, std::int16_t);       \
  template Bytes encode<M>(const M&, std::int16_t);               \
  template keel::Result<M> decode<M>(Reader&, std::int16_t);      \
  template keel::Result<M> decode<M>(std::span<const std::uint8_t>, std::int16_t);
KEEL_PROTOCOL_FOR_EACH_MESSAGE(KEEL_PROTOCOL_INSTANTIATE_CODEC)
#undef KEEL_PROTOCOL_INSTANTIATE_CODEC

}  // namespace keel::protocol
