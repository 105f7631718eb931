#pragma once
// A cache whose rows live in other cache files, read through HDF5 virtual datasets (h5_virtual.hpp):
// a merged sharded cache maps its shards (cache_merge.hpp), and a finished extraction of several
// segments maps them (cache_writer.hpp). The mapping file is small: it copies only what cannot be
// mapped (the skipped entries, the views' row numbers, the counters) and lists the files it reads,
// relative to itself, so that a missing one is reported instead of read as zeros.
#include "pipeline/cache/cache_writer.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

// One mapped file: a complete cache whose rows come next, in order.
struct MappedSource {
    std::string path;  // where this process opens it now
    std::string name;  // where the mapping file finds it: relative to the mapping file's folder
    std::int64_t rows = 0, view_rows = 0, consumed = 0;  // its checked counters
    std::vector<std::string> skipped_paths, skipped_reasons;
};

// Writes, at `tmp`, a complete cache of `config` whose rows are the sources' rows one after the
// other, and lists their names in the root attribute `list_attr` (cache::kAttrShards or
// cache::kAttrSegments). Flushes and fsyncs `tmp`. Throws H5::Exception when HDF5 refuses.
void write_mapped_cache(const std::string& tmp, const CacheConfig& config, const std::vector<MappedSource>& sources,
                        const char* list_attr);

// `file` relative to the directory that will hold `output`.
std::string relative_to_output(const std::string& file, const std::string& output);

}  // namespace cvtl
