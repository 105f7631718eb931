#pragma once
// `cvtl extract --update`: brings a complete cache up to date with its dataset (docs/architecture.md,
// "Datasets that grow"). Only new and changed files go through the network; rows of unchanged files
// are copied byte for byte; rows of files that are gone are dropped.
//
// Crash safety: the changed files are extracted into CACHE.update.h5 by a CacheWriter (resumable
// like any extraction); the new cache is then assembled in CACHE.tmp and renamed over CACHE. A kill
// at any moment leaves CACHE either the old cache or the new one, and re-running the same command
// resumes or finishes the update.
#include "pipeline/cache/row_extraction.hpp"

#include <string>

namespace cvtl {

// Where an update keeps the rows it has extracted until the new cache is assembled.
inline std::string update_scratch(const std::string& cache) { return cache + ".update.h5"; }

// Updates the cache at `path` to job.data. `path` must hold a complete cache made with
// `config` except for its dataset; anything else (model, preprocessing, taps, views, storage) is
// refused as a resumed extraction would refuse it.
ExtractSummary update_cache(const std::string& path, const RowExtraction& job, const Events& events);

}  // namespace cvtl
