// The cache reader on any bytes as an HDF5 file (the core driver opens them in memory). This
// exercises the HDF5 library's own parser as much as cvtl: HDF5 1.10 loops for ever on some damaged
// files (docs/reliability.md), so this harness runs in tools/fuzz.sh's long mode, in fork mode that
// records such hangs and goes on; tests/fuzz/fuzz_cache_reader.cpp covers cvtl's checks in CI.
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/core/error.hpp"

#include <H5Cpp.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    H5::FileAccPropList access;
    access.setCore(1 << 16, false);  // in memory, never written back
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
    } catch (const cvtl::Error&) {}
    return 0;
}
