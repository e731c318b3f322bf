#include "broker/platform/posix/paths.h"

#include <unistd.h>

#include <vector>

namespace keel::posix {

std::string absolute_path(const std::string& path) {
  std::string joined = path;
  if (path.empty() || path.front() != '/') {
    std::vector<char> buffer(4096);
    const char* cwd = ::getcwd(buffer.data(), buffer.size());
    joined = std::string(cwd != nullptr ? cwd : "/") + "/" + path;
  }
  std::string out;
  std::size_t begin = 0;
  while (begin <= joined.size()) {
    const std::size_t end = std::min(joined.find('/', begin), joined.size());
    const std::string part = joined.substr(begin, end - begin);
    if (!part.empty() && part != ".") out += "/" + part;
    begin = end + 1;
  }
  return out.empty() ? "/" : out;
}

std::string root_relative(const std::string& absolute) {
  std::size_t i = 0;
  while (i < absolute.size() && absolute[i] == '/') ++i;
  return absolute.substr(i);
}

}  // namespace keel::posix
