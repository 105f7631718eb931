// The cache reader, on an HDF5 file given as bytes (the core driver opens it in memory): every
// number it takes from the file is checked before it sizes anything, so the result is a consistent
// CacheInfo, rows of every tap, or a cvtl::Error.
#include "pipeline/cache_reader.hpp"
#include "plugin/error.hpp"

#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    H5::FileAccPropList access;
    access.setCore(1 << 16, false);   // in memory, never written back
    if (H5Pset_file_image(access.getId(), const_cast<std::uint8_t*>(data), size) < 0) return 0;
    try {
        const cvtl::CacheInfo info = cvtl::read_cache_info("fuzz.h5", access);
        if (info.counts.size() != info.classes.size()) std::abort();
        if (!info.complete) return 0;
        for (const auto& tap : info.taps) {
            cvtl::CacheReader reader("fuzz.h5", tap.name, access);
            const std::int64_t n = std::min<std::int64_t>(reader.rows(), 4);
            const cv::Mat rows = reader.read_rows(0, n);
            if (rows.size[0] != n || rows.total() != static_cast<size_t>(n) * reader.sample_values()) std::abort();
        }
    } catch (const cvtl::Error&) {
    }
    return 0;
}
