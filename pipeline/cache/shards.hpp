#pragma once
// A cache made of shards (docs/architecture.md, "Sharded caches"): shard K of N holds a contiguous
// range of the global sample list, in CACHE.h5.shards/rank-K-of-N.h5, and is an ordinary cache file
// (resumable on its own) that records which part of which dataset it is. `merge_shards` then
// writes CACHE.h5 over them.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <utility>

namespace cvtl {

struct ShardRef {
    int index = 0;  // K, from 0
    int count = 1;  // N
};

// "K/N" with 0 <= K < N <= 65536. Throws cvtl::Error naming {shard}.
ShardRef parse_shard(const std::string& text);

std::string shards_dir(const std::string& cache);
std::string shard_path(const std::string& cache, const ShardRef& shard);

// Samples [first, second) of `total` that shard K of N extracts: as even as integers allow, in order.
std::pair<std::int64_t, std::int64_t> shard_range(std::int64_t total, const ShardRef& shard);

// Refuses to add a shard of an N-way run to CACHE.h5.shards/ when it holds shards of another N.
void check_shard_count(const std::string& cache, const ShardRef& shard);

// What a shard file records about itself (root attribute "shard").
struct ShardRecord {
    ShardRef shard;
    std::int64_t begin = 0, end = 0;  // its rows of the global sample list
    std::string dataset_fingerprint;  // of the whole dataset
    std::int64_t dataset_size = 0;    // the whole dataset's entries

    nlohmann::json to_json() const;
    // Checks every field (a shard file is untrusted); errors name `source`.
    static ShardRecord from_json(const nlohmann::json& j, const std::string& source);
};

}  // namespace cvtl
