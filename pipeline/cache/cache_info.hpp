#pragma once
#include "pipeline/cache/dtype.hpp"

#include <H5Cpp.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

struct CacheTapInfo {
    std::string name;
    std::string layer;
    Dtype dtype = Dtype::f32;         // from the stored element size
    std::vector<std::uint64_t> dims;  // [N, C, H, W] or [N, D]
    std::vector<std::uint64_t> chunk;
    std::uint64_t stored_bytes = 0;
};

// What a cache holds, read without loading any activations.
struct CacheInfo {
    std::string path;
    std::int64_t version = 0;   // format version: 1, or 2 with stamps and views
    nlohmann::json attributes;  // every root attribute, JSON-valued ones parsed
    bool complete = false;
    std::int64_t rows = 0;  // committed samples
    std::int64_t dataset_size = 0;
    std::int64_t consumed = 0;  // dataset entries done (written + skipped)
    std::vector<std::string> classes;
    std::vector<std::array<std::int64_t, 3>> counts;  // per class: train, val, test rows
    std::vector<CacheTapInfo> taps;
    std::vector<std::string> skipped_paths, skipped_reasons;
    int views = 1;                 // K: view 0 in /taps, views 1..K-1 of training rows in /views
    std::string augment = "none";  // their SPEC
    std::int64_t view_rows = 0;    // rows in /views
    std::uint64_t view_bytes = 0;  // stored bytes of /views/taps
    std::uint64_t disk_bytes = 0;  // what the cache takes on disk: its file and the row files it maps
    // A cache whose rows live in other files (cache_map.hpp), each named relative to it:
    std::vector<std::string> shards;         // a merged sharded cache: its shard files
    std::vector<std::string> segments;       // a finished extraction of several segments: its segment files
    std::vector<std::string> missing_files;  // of those, the ones that are not there
};

// Throws cvtl::Error unless every file a cache's rows live in is there: HDF5 reads a missing source
// of a virtual dataset as zeros, which would train on silently wrong data.
void require_row_files(const CacheInfo& info);

// Throws cvtl::Error naming the file when it is not a readable cvtl cache of a known version.
CacheInfo read_cache_info(const std::string& path);
// The same through any HDF5 file driver: `access` may hold an in-memory image (the fuzzer's core
// driver). Every number read is checked against the others and against the file's size.
CacheInfo read_cache_info(const std::string& path, const H5::FileAccPropList& access);

}  // namespace cvtl
