#include "broker/base/version.h"

namespace keel {

std::string_view version() { return KEEL_VERSION; }

}  // namespace keel
