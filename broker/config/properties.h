#pragma once
// Java .properties syntax, as Kafka reads server.properties: one `key=value`, `key: value` or
// `key value` per logical line; '#' or '!' starts a comment line; a line ending in an odd number of
// backslashes continues on the next one (whose leading blanks are dropped); \t \n \r \f \uXXXX and
// \<any> are escapes in keys and values. Unlike Java, a value's trailing blanks are trimmed too
// (an escaped blank, "\ ", is kept), since no Kafka setting wants them.
#include <string>
#include <string_view>
#include <vector>

#include "broker/base/result.h"

namespace keel::config {

struct Property {
  std::string key;
  std::string value;
  int line = 0;  // where its logical line starts, counting from 1
};

// The properties in file order (a key given twice appears twice; the later one wins for callers
// that keep one). The only syntax error is a malformed \uXXXX escape, reported with its line.
Result<std::vector<Property>> parse_properties(std::string_view text, std::string_view source_name);

}  // namespace keel::config
