#pragma once
// The batch pipeline shared by extract, evaluate and predict: images are decoded and preprocessed
// in parallel, the network runs one batch at a time, and a consumer takes the results in dataset
// order, all overlapped in one oneTBB arena that OpenCV's own parallel loops share.
#include "pipeline/data/dataset.hpp"
#include "pipeline/data/preprocess.hpp"
#include "plugin/thread_policy.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cvtl {

struct ImageBatch {
    std::int64_t first = 0;             // dataset index of the first entry
    std::int64_t count = 0;             // dataset entries covered
    cv::Mat blob;                       // [rows, 3, S, S] preprocessed decodable entries
    std::vector<std::int64_t> kept;     // dataset indices of the blob's rows
    std::vector<std::string> reasons;   // per entry: "" when decoded, else why it was skipped
    std::vector<cv::Mat> outputs;       // what `forward` returned for the blob
};

using BatchForward = std::function<std::vector<cv::Mat>(const cv::Mat& blob)>;
using BatchConsumer = std::function<void(ImageBatch& batch)>;

// What a run of the pipeline measured: the network stage's busy share is network_seconds / seconds
// (near 1 when decoding and writing are hidden behind the network).
struct PipelineTimes {
    double seconds = 0;          // wall time of the whole run
    double network_seconds = 0;  // time inside `forward`
};

// Processes dataset entries [first, end) in batches of `batch`. `forward` is called serially, in
// order, only for batches with at least one decodable image; `consume` serially, in order, for
// every batch. At most threads + 2 batches are in flight. Exceptions propagate to the caller.
PipelineTimes run_image_batches(const Dataset& data, std::int64_t first, const Preprocessing& pre, int batch, int threads,
                                const BatchForward& forward, const BatchConsumer& consume);

}  // namespace cvtl
