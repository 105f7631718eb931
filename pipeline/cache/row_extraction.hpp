#pragma once
// The extraction loop shared by a full extraction and an update: dataset entries are decoded (with
// their stamps and views), run through the network and appended to a CacheWriter in order.
#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/cache/extractor.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/data/batch_runner.hpp"

#include <string>

namespace cvtl {

struct RowExtraction {
    const Dataset& data;
    const Preprocessing& pre;
    TapEngine& engine;
    const CacheConfig& config;  // of the cache written: its taps, views and seed
    int batch = 16;
    int threads = 0;
    std::string stage;  // the progress events' stage
};

// Extracts entries [writer.next_input(), end) of job.data into `writer` (without finishing it),
// counting images and skipped files into `summary` and warning once per skipped file.
PipelineTimes extract_rows(const RowExtraction& job, CacheWriter& writer, const Events& events,
                           ExtractSummary& summary);

}  // namespace cvtl
