#pragma once
// Reads size-prefixed frames from a connection through a buffer, so that one read takes as many
// frames as have arrived (a response of a few dozen bytes, or the size prefix together with its
// request) rather than two reads per frame. A frame larger than the buffer is read past it,
// straight into the frame. The same limits as read_frame: a size outside 0..frame_bytes_max is
// refused, and memory grows with what arrives, never with what a peer claims.
#include <cstddef>

#include "broker/platform/network.h"
#include "broker/protocol/wire.h"

namespace keel::protocol {

class FrameReader {
 public:
  static constexpr std::size_t buffer_bytes = 64 * 1024;

  FrameReader(keel::Connection& connection, std::int32_t frame_bytes_max);

  // The next frame's body (its size prefix taken off).
  keel::Result<Bytes> next(keel::Instant deadline);

 private:
  std::size_t buffered() const { return end_ - begin_; }
  // Reads once into the free end of the buffer (moving what is buffered to its front first).
  keel::Status fill(keel::Instant deadline);
  keel::Result<Bytes> read_large(std::size_t total, keel::Instant deadline);

  keel::Connection& connection_;
  std::int32_t frame_bytes_max_;
  Bytes buffer_;
  std::size_t begin_ = 0;  // the unread bytes are buffer_[begin_, end_)
  std::size_t end_ = 0;
};

}  // namespace keel::protocol
