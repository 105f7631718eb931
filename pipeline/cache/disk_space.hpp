#pragma once
// Room on the file system before a cache is written: an extraction that fills the disk hours in
// wastes the hours, so it is refused before the first image.
#include <cstdint>
#include <string>

namespace cvtl {

// Bytes available to this user on the file system holding `dir` (the nearest existing ancestor of
// it). CVTL_TEST_FREE_BYTES replaces the figure, so tests can play a full disk.
std::uint64_t free_bytes(const std::string& dir);

// Throws cvtl::Error when `needed` bytes do not fit in free_bytes(dir). `what` says what the bytes
// are for and `fix` how to need fewer; both end up in the one-line message.
void check_room(const std::string& dir, std::uint64_t needed, const std::string& what, const std::string& fix);

}  // namespace cvtl
