#pragma once
// The batch pipeline shared by extract, evaluate and predict: images are decoded and preprocessed
// in parallel, the network runs one batch at a time, and a consumer takes the results in dataset
// order, all overlapped in one oneTBB arena that OpenCV's own parallel loops share.
#include "pipeline/data/augment.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/data/file_stamp.hpp"
#include "pipeline/data/preprocess.hpp"
#include "plugin/thread_policy.hpp"

#include <opencv2/core.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cvtl {

// What extraction adds to decoding: each file's stamp, and augmented views of the training samples.
struct DecodeExtras {
    bool stamps = false;
    int views = 1;  // K: views per training sample, view 0 the plain image
    AugmentSpec augment;
    std::uint64_t seed = 0;  // of the views (view_seed)
};

struct ImageBatch {
    std::int64_t first = 0;                // dataset index of the first entry
    std::int64_t count = 0;                // dataset entries covered
    cv::Mat blob;                          // [kept + view rows, 3, S, S]: the decodable entries, then their views
    std::vector<std::int64_t> kept;        // dataset indices of the blob's first rows
    std::vector<FileStamp> stamps;         // per kept entry, when DecodeExtras::stamps
    std::vector<std::int64_t> view_of;     // per view row (after the kept rows): its position in `kept`
    std::vector<std::uint8_t> view_index;  // per view row: 1..K-1
    std::vector<std::string> reasons;      // per entry: "" when decoded, else why it was skipped
    std::vector<cv::Mat> outputs;          // what `forward` returned for the blob
};

// `plain_rows`: the blob's first rows, view 0 of each kept entry (the rest are their views).
using BatchForward = std::function<std::vector<cv::Mat>(const cv::Mat& blob, int plain_rows)>;
using BatchConsumer = std::function<void(ImageBatch& batch)>;

// What a run of the pipeline measured: the network stage's busy share is network_seconds / seconds
// (near 1 when decoding and writing are hidden behind the network).
struct PipelineTimes {
    double seconds = 0;          // wall time of the whole run
    double network_seconds = 0;  // time inside `forward`
    // The batches after the first: the first pays one-off costs (the fast path's plan and weight
    // reorders, cv::dnn's allocation), so these give the network's steady per-image time.
    double steady_network_seconds = 0;
    std::int64_t steady_images = 0;
};

// Processes dataset entries [first, end) in batches of `batch`. `forward` is called serially, in
// order, only for batches with at least one decodable image; `consume` serially, in order, for
// every batch. At most threads + 2 batches are in flight. Exceptions propagate to the caller.
// `extras` adds stamps and views (a batch's blob then holds up to K x `batch` images).
PipelineTimes run_image_batches(const Dataset& data, std::int64_t first, const Preprocessing& pre, int batch,
                                int threads, const BatchForward& forward, const BatchConsumer& consume,
                                const DecodeExtras& extras = {});

}  // namespace cvtl
