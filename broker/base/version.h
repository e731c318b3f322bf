#pragma once
// The version of this build of Keel, as reports and `keel --version` print it.
#include <string_view>

namespace keel {

std::string_view version();

}  // namespace keel
