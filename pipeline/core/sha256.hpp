#pragma once
#include <cstddef>
#include <string>

namespace cvtl {

// Hex SHA-256 of a file's bytes; identifies the source model a cache or run was made from.
std::string sha256_file(const std::string& path);

// Hex SHA-256 of a byte string.
std::string sha256_bytes(const std::string& bytes);
std::string sha256_bytes(const char* data, size_t size);

}  // namespace cvtl
