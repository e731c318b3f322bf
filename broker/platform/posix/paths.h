#pragma once
// Paths as the `keel` binary meets them on its command line and in server.properties: relative to
// the working directory. The posix runtime's Disk takes paths relative to its data root, so the
// binary runs with data root "/" and turns every path into an absolute one first.
#include <string>

namespace keel::posix {

// `path` made absolute against the current working directory, with "." components and repeated
// slashes removed. ".." is kept as written (the Disk refuses it, with a message naming the path).
std::string absolute_path(const std::string& path);

// An absolute path as a Disk path under data root "/": the leading slashes removed.
std::string root_relative(const std::string& absolute);

}  // namespace keel::posix
