#pragma once
// `cvtl cache merge CACHE.h5 SHARDS...`: one cache over the shards of a sharded extraction
// (docs/architecture.md, "Sharded caches"). By default CACHE.h5 holds HDF5 virtual datasets over the
// shard files, in global sample order (no tap is copied; the shards must stay where they are); with
// `copy` it is a self-contained single file.
#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

struct MergeOptions {
    std::string output;               // CACHE.h5
    std::vector<std::string> shards;  // every shard of one extraction, in any order
    bool copy = false;                // copy the rows instead of mapping them
    bool force = false;               // replace an existing CACHE.h5
};

struct MergeSummary {
    int shards = 0;
    std::int64_t rows = 0, skipped = 0, view_rows = 0;
    std::uint64_t bytes = 0;  // of CACHE.h5 itself
};

// Checks that the shards are complete, are shards 0..N-1 of one extraction of one dataset with one
// configuration, then writes CACHE.h5 (through CACHE.h5.tmp and a rename). Throws cvtl::Error
// naming the shard and the fix otherwise.
MergeSummary merge_shards(const MergeOptions& options);

}  // namespace cvtl
