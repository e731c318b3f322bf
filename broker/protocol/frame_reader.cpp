#include "broker/protocol/frame_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "broker/base/assert.h"
#include "broker/protocol/frame.h"

namespace keel::protocol {

namespace {
// A frame larger than the buffer is allocated at up to this size at once, then doubles as bytes
// arrive: a Fetch response of a partition's 1 MiB is one allocation and no copy, while a peer that
// claims a huge size still cannot make us allocate it.
constexpr std::size_t large_chunk_bytes = 1 << 20;
}  // namespace

FrameReader::FrameReader(keel::Connection& connection, std::int32_t frame_bytes_max)
    : connection_(connection), frame_bytes_max_(frame_bytes_max), buffer_(buffer_bytes) {
  KEEL_ASSERT(frame_bytes_max_ >= 0);
}

keel::Status FrameReader::fill(keel::Instant deadline) {
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, buffered());
    end_ -= begin_;
    begin_ = 0;
  }
  KEEL_ASSERT(end_ < buffer_.size());
  auto free = std::as_writable_bytes(std::span(buffer_).subspan(end_));
  auto n = connection_.read(free, deadline);
  if (!n) return n.error();
  if (*n == 0) {
    return make_error(Errc::closed, fmt::format("connection to {} ended with {} bytes of a frame read",
                                                connection_.peer().to_string(), buffered()));
  }
  end_ += *n;
  KEEL_ASSERT_LE(end_, buffer_.size());
  return {};
}

keel::Result<Bytes> FrameReader::next(keel::Instant deadline) {
  while (buffered() < frame_size_bytes) {
    if (auto st = fill(deadline); !st) return st.error();
  }
  Reader size_reader(std::span<const std::uint8_t>(buffer_).subspan(begin_, frame_size_bytes));
  const std::int32_t size = size_reader.read_int32();
  if (size < 0 || size > frame_bytes_max_) {
    return make_error(Errc::invalid_argument,
                      fmt::format("frame size {} is outside 0..{} (socket.request.max.bytes)", size, frame_bytes_max_));
  }
  begin_ += frame_size_bytes;
  const auto total = static_cast<std::size_t>(size);
  if (total > buffer_.size()) return read_large(total, deadline);
  while (buffered() < total) {
    if (auto st = fill(deadline); !st) return st.error();
  }
  Bytes frame(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
              buffer_.begin() + static_cast<std::ptrdiff_t>(begin_ + total));
  begin_ += total;
  if (begin_ == end_) begin_ = end_ = 0;
  return frame;
}

// A frame that does not fit the buffer: what is buffered starts it, the rest is read into it.
keel::Result<Bytes> FrameReader::read_large(std::size_t total, keel::Instant deadline) {
  const std::size_t prefix = std::min(total, buffered());
  Bytes frame(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
              buffer_.begin() + static_cast<std::ptrdiff_t>(begin_ + prefix));
  begin_ = end_ = 0;  // the buffer held less than one frame: it is all in `frame` now
  std::size_t done = prefix;
  while (done < total) {
    const std::size_t target = std::min(total, std::max(large_chunk_bytes, 2 * done));
    frame.resize(target);
    auto chunk = std::as_writable_bytes(std::span(frame).subspan(done, target - done));
    if (auto st = connection_.read_exact(chunk, deadline); !st) return st.error();
    done = target;
  }
  return frame;
}

}  // namespace keel::protocol
