#pragma once
// Shuffled mini-batches of one split of a cache, with bounded memory.
//
// The rows of the split are read by whole HDF5 chunks. When the split fits in the memory budget it
// is read once and kept; otherwise each epoch shuffles the chunks, groups them into windows that
// fit the budget (so a window mixes rows from all over the cache, not one class's files), shuffles
// the rows inside each window, and reads the next window on a background thread while the current
// one is trained on. Same seed and epoch -> same batches.
//
// A training stream (shuffle) of a cache with augmented views gives each row one of its views per
// epoch, drawn uniformly from view 0 and its stored views by (seed, epoch, row) alone: the draw
// does not depend on windows or batch order. Validation streams (no shuffle) always give view 0.
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/data/batch.hpp"

#include <cstdint>
#include <future>
#include <vector>

namespace cvtl {

class BatchStream {
public:
    // `split`: 0 train, 1 val, 2 test. `shuffle`: random order per epoch (training) or cache order.
    BatchStream(CacheReader& reader, std::uint8_t split, int batch, bool shuffle, std::uint64_t seed,
                std::size_t memory_budget_bytes);
    // The rows whose `roles[row] == role` instead of a recorded split: cross-validation folds and
    // retraining on train+val assign rows to roles of their own. `roles` has one entry per cache row.
    BatchStream(CacheReader& reader, const std::vector<std::uint8_t>& roles, std::uint8_t role, int batch, bool shuffle,
                std::uint64_t seed, std::size_t memory_budget_bytes);
    ~BatchStream();

    std::int64_t size() const { return static_cast<std::int64_t>(selected_); }  // rows in the split
    bool in_memory() const { return resident_; }

    void start_epoch(int epoch);
    bool next(Batch& batch);  // false at the end of the epoch

private:
    struct Chunk {
        std::int64_t begin = 0, end = 0;  // cache rows
        std::vector<std::int64_t> rows;   // rows of the split inside [begin, end)
    };
    using Window = std::vector<size_t>;  // chunk indices
    struct Loaded {
        cv::Mat data;  // the window's rows of the split, in `rows` order
        std::vector<std::int64_t> rows;
        cv::Mat views;                      // their stored views, when the stream draws views
        std::vector<std::int64_t> view_at;  // per row: its first view in `views`
    };
    void load_views(const Window& w, Loaded& out);
    const float* drawn_view(size_t pos) const;
    Loaded load(const Window& w);
    void open_window(size_t k);

    CacheReader& reader_;
    int batch_;
    bool shuffle_;
    bool draw_views_ = false;
    std::uint64_t seed_;
    std::size_t selected_ = 0;
    std::vector<Chunk> chunks_;
    size_t chunks_per_window_ = 1;
    bool resident_ = false;
    std::vector<Window> windows_;  // this epoch's windows, in visiting order
    size_t next_window_ = 0;
    Loaded current_;
    bool current_is_resident_ = false;  // the single window stays loaded across epochs
    std::vector<size_t> permutation_;   // positions inside current_
    size_t cursor_ = 0;
    std::future<Loaded> prefetch_;
    int epoch_ = 0;
};

}  // namespace cvtl
