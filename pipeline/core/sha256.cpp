#include "pipeline/core/sha256.hpp"

#include "pipeline/core/error.hpp"

#include <openssl/evp.h>

#include <array>
#include <fstream>

namespace cvtl {
Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
        throw Error("sha256: OpenSSL could not initialise a digest");
}

void Sha256::update(const char* data, size_t size) { EVP_DigestUpdate(ctx_.get(), data, size); }

std::string Sha256::hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md.data(), &len);
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
        out += digits[md[i] >> 4];
        out += digits[md[i] & 15];
    }
    return out;
}

std::string sha256_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path + ": no such file or no permission");
    Sha256 digest;
    std::array<char, 1 << 16> buffer{};
    while (in) {
        in.read(buffer.data(), buffer.size());
        digest.update(buffer.data(), static_cast<size_t>(in.gcount()));
    }
    return digest.hex();
}

std::string sha256_bytes(const std::string& bytes) { return sha256_bytes(bytes.data(), bytes.size()); }

std::string sha256_bytes(const char* data, size_t size) {
    Sha256 digest;
    digest.update(data, size);
    return digest.hex();
}

}  // namespace cvtl
