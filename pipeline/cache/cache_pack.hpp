#pragma once
// `cvtl cache pack CACHE.h5 [-o OUT.h5]`: a cache whose rows live in other files (a long extraction's
// segments, a merged cache's shards) copied into one self-contained file, without running the
// network again: for moving it, or for a reader that should open one file.
#include <cstdint>
#include <string>

namespace cvtl {

struct PackSummary {
    std::int64_t rows = 0, view_rows = 0;
    int files = 0;            // row files read
    std::uint64_t bytes = 0;  // of the packed file
};

// Copies every row of the cache at `path` into `output` (through OUTPUT.tmp and a rename). With
// `output` == `path` the cache is replaced, then its rows directory removed (a merged cache's shard
// files are the user's and stay). Throws cvtl::Error naming the file when the cache is unfinished,
// misses row files, is already one file, or `output` exists (another path) without `force`.
PackSummary pack_cache(const std::string& path, const std::string& output, bool force);

}  // namespace cvtl
