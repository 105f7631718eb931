#pragma once
#include "pipeline/cache/dtype.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/core/events.hpp"
#include "pipeline/dist/communicator.hpp"
#include "pipeline/data/batch_runner.hpp"
#include "pipeline/data/image_decode.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cvtl {

struct ExtractOptions {
    std::string model;                // source model file
    std::string weights;              // Caffe weights when not next to the prototxt
    std::string data;                 // class-per-folder tree or CSV
    std::string output;               // cache file
    std::vector<std::string> taps{};  // empty: the outputs of blocks 4 and 5
    Preset preset = Preset::torchvision;
    int size = 0;  // 0: the model's declared input size
    std::optional<std::array<double, 3>> mean, std;
    int batch = 16;
    int threads = 0;  // 0: every core
    Backend backend = Backend::cpu;
    Engine engine = Engine::onednn;
    Precision precision = Precision::f32;  // bf16: onednn, CPUs with AVX512-BF16
    Dtype dtype = Dtype::f32;
    bool compress = false;
    double val_fraction = 0.1;
    double test_fraction = 0;         // held-out test share per class (never read by train or sweep)
    std::uint32_t seed = 0;           // of the split and of the augmented views
    int views = 1;                    // K: views of every training image (view 0 the plain image)
    std::string augment = "default";  // SPEC of views 1..K-1 (pipeline/data/augment.hpp); used when views > 1
    std::uint64_t max_image_bytes = kDefaultMaxImageBytes;  // larger image files are skipped unread
    bool force = false;                                     // replace an existing cache instead of resuming it
    bool single_file = false;   // copy several segments into one file instead of mapping them (CacheWriter)
    bool update = false;        // bring a complete cache up to date with the dataset (new, changed, gone files)
    int shard = 0, shards = 0;  // shards > 0: extract only shard `shard` of `shards`, into OUTPUT.shards/ (shards.hpp)
    // mpirun: rank 0 scans the dataset and broadcasts it, rank K extracts shard K of N (resumable on
    // its own), and rank 0 then writes OUTPUT as virtual datasets over the shards (cache_merge.hpp).
    Communicator comm;
};

struct ExtractSummary {
    std::int64_t images = 0;        // rows written by this run
    std::int64_t skipped = 0;       // files skipped by this run
    std::int64_t rows = 0;          // rows in the cache now
    std::int64_t resumed_from = 0;  // rows already there when this run started
    bool already_complete = false;
    double seconds = 0;
    double network_seconds = 0;         // of which the network ran (the rest: decoding or writing not hidden)
    double steady_network_seconds = 0;  // the network's time on the batches after the first (no one-off costs)
    std::int64_t steady_images = 0;     // the images of those batches
    std::uint64_t bytes_written = 0;
    // finish(): how many segments made the cache (one is renamed) and how long that took; several are
    // mapped from rows_dir, or copied into the cache (a second write of every row, reported so that
    // its cost is visible: docs/reliability.md) when rows_dir is "".
    std::int64_t segments = 0;
    double assembly_seconds = 0;
    std::string rows_dir;
    std::string backend;       // engine and backend or precision actually used
    std::string output;        // the file written: OUTPUT, or a shard's file under OUTPUT.shards/
    bool updated = false;      // an update ran (--update on a complete cache)
    std::int64_t reused = 0;   // update: rows kept from the previous cache, byte for byte
    std::int64_t removed = 0;  // update: rows dropped because their file is gone or changed
    int ranks = 1;             // mpirun: the ranks (= shards) that extracted; counts above are their sums

    void add_times(const PipelineTimes& t) {
        network_seconds += t.network_seconds;
        steady_network_seconds += t.steady_network_seconds;
        steady_images += t.steady_images;
    }
};

// What an extraction will write, known once the model and dataset are read and before any image is.
struct ExtractPlan {
    std::int64_t images = 0;        // dataset entries
    std::int64_t train_images = 0;  // of which training samples (these get views)
    int views = 1;
    std::int64_t rows = 0;    // tap rows: every image once, plus K-1 views per training image
    std::uint64_t bytes = 0;  // tap bytes of those rows, uncompressed
    std::vector<std::pair<std::string, std::uint64_t>> tap_row_bytes;  // each tap's bytes per row, in --taps order
    // Peak disk this run adds: rows still to write as segments, plus the assembled cache when copied.
    std::uint64_t disk_needed = 0;
    std::uint64_t disk_free = 0;  // free on the cache's file system when the run started
};

struct ExtractEvents : Events {
    ExtractEvents() = default;
    ExtractEvents(Events events) : Events(std::move(events)) {}  // NOLINT: implicit, any Events will do
    std::function<void(const ExtractPlan&)> planned;             // once, before the first image of a new or resumed run
};

// Scans the dataset, runs the model once per batch through cv::dnn and appends every requested tap
// to the HDF5 cache. Decoding/preprocessing (parallel), the network and the writer overlap in a
// oneTBB pipeline with a bounded number of batches in flight. Re-running on an unfinished cache
// made with the same settings resumes it. Throws cvtl::Error.
ExtractSummary run_extraction(const ExtractOptions& options, const ExtractEvents& events);

}  // namespace cvtl
