#pragma once
#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX, kept out of this header

namespace cvtl {

// A SHA-256 fed piece by piece (for streams whose end the caller decides). Throws cvtl::Error when
// OpenSSL cannot make a digest.
class Sha256 {
public:
    Sha256();
    void update(const char* data, size_t size);
    std::string hex();  // the digest of everything fed, as lowercase hex; call once

private:
    std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

// Hex SHA-256 of a file's bytes; identifies the source model a cache or run was made from.
std::string sha256_file(const std::string& path);

// Hex SHA-256 of a byte string.
std::string sha256_bytes(const std::string& bytes);
std::string sha256_bytes(const char* data, size_t size);

}  // namespace cvtl
