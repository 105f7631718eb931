#pragma once
// What the libFuzzer harnesses share: a private scratch folder (for the readers that take paths),
// and the one rule every harness enforces: a reader may refuse its input only with cvtl::Error.
// Any other exception escapes, and libFuzzer reports it as a crash.
#include <boost/filesystem.hpp>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace cvtl::fuzz {

// One folder per fuzzing process, under /dev/shm when it exists (the harnesses write a file per input).
inline const boost::filesystem::path& scratch() {
    static const boost::filesystem::path dir = [] {
        const boost::filesystem::path base =
            boost::filesystem::exists("/dev/shm") ? "/dev/shm" : boost::filesystem::temp_directory_path();
        boost::filesystem::path d = base / ("cvtl-fuzz-" + std::to_string(::getpid()));
        boost::filesystem::create_directories(d);
        std::atexit([] {
            boost::system::error_code ec;
            boost::filesystem::remove_all(scratch(), ec);
        });
        return d;
    }();
    return dir;
}

inline std::string write_file(const std::string& name, const std::uint8_t* data, size_t size) {
    const std::string path = (scratch() / name).string();
    std::ofstream(path, std::ios::binary | std::ios::trunc)
        .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    return path;
}

}  // namespace cvtl::fuzz
