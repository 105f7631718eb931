#include "pipeline/train/batch_stream.hpp"

#include "pipeline/core/hashing.hpp"
#include "pipeline/core/error.hpp"

#include <algorithm>
#include <cstring>
#include <random>

namespace cvtl {
namespace {

// Fisher-Yates with mt19937_64 directly: std::shuffle differs between standard libraries.
template <typename T>
void seeded_shuffle(std::vector<T>& v, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[rng() % i]);
}

}  // namespace

BatchStream::BatchStream(CacheReader& reader, std::uint8_t split, int batch, bool shuffle, std::uint64_t seed,
                         std::size_t memory_budget_bytes)
    : BatchStream(reader, reader.splits(), split, batch, shuffle, seed, memory_budget_bytes) {}

BatchStream::BatchStream(CacheReader& reader, const std::vector<std::uint8_t>& splits, std::uint8_t split, int batch,
                         bool shuffle, std::uint64_t seed, std::size_t memory_budget_bytes)
    : reader_(reader), batch_(batch), shuffle_(shuffle), draw_views_(shuffle && reader.views() > 1), seed_(seed) {
    if (batch < 1) throw Error("the batch size must be at least 1");
    if (splits.size() != static_cast<size_t>(reader.rows()))
        throw Error("row roles cover " + std::to_string(splits.size()) + " rows; cache " + reader.path() + " has " +
                    std::to_string(reader.rows()));
    const std::int64_t chunk = std::max<std::int64_t>(1, reader.rows_per_chunk());
    for (std::int64_t begin = 0; begin < reader.rows(); begin += chunk) {
        Chunk c{begin, std::min(reader.rows(), begin + chunk), {}};
        for (std::int64_t r = c.begin; r < c.end; ++r)
            if (splits[static_cast<size_t>(r)] == split) c.rows.push_back(r);
        selected_ += c.rows.size();
        if (!c.rows.empty()) chunks_.push_back(std::move(c));
    }
    // Streaming holds the current window, the prefetched one and batches: a window gets a quarter.
    const std::size_t copies = draw_views_ ? static_cast<std::size_t>(reader.views()) : 1;  // a row and its views
    const std::size_t chunk_bytes = static_cast<std::size_t>(chunk) * reader.sample_values() * sizeof(float) * copies;
    resident_ = selected_ * reader.sample_values() * sizeof(float) * copies <= memory_budget_bytes;
    chunks_per_window_ = resident_ ? chunks_.size() : std::max<std::size_t>(1, memory_budget_bytes / 4 / chunk_bytes);
}

BatchStream::~BatchStream() {
    if (prefetch_.valid()) prefetch_.wait();
}

BatchStream::Loaded BatchStream::load(const Window& w) {
    Loaded out;
    for (size_t c : w) out.rows.insert(out.rows.end(), chunks_[c].rows.begin(), chunks_[c].rows.end());
    std::vector<int> shape{static_cast<int>(out.rows.size())};
    shape.insert(shape.end(), reader_.sample_shape().begin(), reader_.sample_shape().end());
    out.data.create(shape, CV_32F);
    const size_t n = reader_.sample_values();
    float* dst = out.data.ptr<float>();
    for (size_t c : w) {
        const Chunk& chunk = chunks_[c];
        const cv::Mat block = reader_.read_rows(chunk.begin, chunk.end - chunk.begin);
        for (std::int64_t r : chunk.rows) {
            std::memcpy(dst, block.ptr<float>() + static_cast<size_t>(r - chunk.begin) * n, n * sizeof(float));
            dst += n;
        }
    }
    if (draw_views_) load_views(w, out);
    return out;
}

// The stored views of the window's rows. A chunk's rows have their views in one contiguous range of
// view rows (views are stored in row order), read at once.
void BatchStream::load_views(const Window& w, Loaded& out) {
    const size_t n = reader_.sample_values();
    std::int64_t total = 0;
    for (std::int64_t r : out.rows) total += reader_.view_count(r);
    std::vector<int> shape{static_cast<int>(total)};
    shape.insert(shape.end(), reader_.sample_shape().begin(), reader_.sample_shape().end());
    out.views.create(shape, CV_32F);
    float* dst = out.views.ptr<float>();
    std::int64_t at = 0;
    for (size_t c : w) {
        std::int64_t lo = -1, hi = -1;
        for (std::int64_t r : chunks_[c].rows)
            if (reader_.view_count(r) > 0) {
                if (lo < 0) lo = reader_.view_first(r);
                hi = reader_.view_first(r) + reader_.view_count(r);
            }
        const cv::Mat block = lo < 0 ? cv::Mat() : reader_.read_view_rows(lo, hi - lo);
        for (std::int64_t r : chunks_[c].rows) {
            out.view_at.push_back(at);
            const auto k = static_cast<size_t>(reader_.view_count(r));
            if (k == 0) continue;
            std::memcpy(dst, block.ptr<float>() + static_cast<size_t>(reader_.view_first(r) - lo) * n,
                        k * n * sizeof(float));
            dst += k * n;
            at += static_cast<std::int64_t>(k);
        }
    }
}

// The view a training row gets this epoch: view 0 or one of its stored views, uniformly.
const float* BatchStream::drawn_view(size_t pos) const {
    const size_t n = reader_.sample_values();
    const std::int64_t row = current_.rows[pos];
    const int count = draw_views_ ? reader_.view_count(row) : 0;
    if (count == 0) return current_.data.ptr<float>() + pos * n;
    const std::uint64_t h = splitmix64(splitmix64(seed_ ^ 0x76696577ull) ^ (static_cast<std::uint64_t>(epoch_) << 40) ^
                                       static_cast<std::uint64_t>(row));
    const auto v = static_cast<int>(h % static_cast<std::uint64_t>(count + 1));
    if (v == 0) return current_.data.ptr<float>() + pos * n;
    return current_.views.ptr<float>() + static_cast<size_t>(current_.view_at[pos] + v - 1) * n;
}

void BatchStream::start_epoch(int epoch) {
    epoch_ = epoch;
    if (prefetch_.valid()) prefetch_.wait();
    prefetch_ = {};
    std::vector<size_t> order(chunks_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    if (shuffle_ && !resident_) seeded_shuffle(order, seed_ * 7919 + static_cast<std::uint64_t>(epoch));
    windows_.clear();
    for (size_t i = 0; i < order.size(); i += chunks_per_window_)
        windows_.emplace_back(
            order.begin() + static_cast<std::ptrdiff_t>(i),
            order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), i + chunks_per_window_)));
    next_window_ = 0;
    cursor_ = 0;
    permutation_.clear();
    if (!resident_) current_ = {};
}

void BatchStream::open_window(size_t k) {
    if (resident_) {
        if (!current_is_resident_) {
            current_ = load(windows_[k]);
            current_is_resident_ = true;
        }
    } else if (prefetch_.valid()) {
        current_ = prefetch_.get();
    } else {
        current_ = load(windows_[k]);
    }
    // Read the next window while this one is trained on.
    if (!resident_ && k + 1 < windows_.size())
        prefetch_ = std::async(std::launch::async, [this, next = windows_[k + 1]] { return load(next); });
    permutation_.resize(current_.rows.size());
    for (size_t i = 0; i < permutation_.size(); ++i) permutation_[i] = i;
    if (shuffle_) seeded_shuffle(permutation_, seed_ * 104729 + static_cast<std::uint64_t>(epoch_) * 1000003 + k);
    cursor_ = 0;
}

bool BatchStream::next(Batch& batch) {
    const size_t values = reader_.sample_values();
    std::vector<int> shape{batch_};
    shape.insert(shape.end(), reader_.sample_shape().begin(), reader_.sample_shape().end());
    cv::Mat data(shape, CV_32F);
    batch.labels.clear();
    batch.rows.clear();
    // Batches run across window boundaries so that every batch but the epoch's last is full.
    while (static_cast<int>(batch.rows.size()) < batch_) {
        if (cursor_ >= permutation_.size()) {
            if (next_window_ >= windows_.size()) break;
            open_window(next_window_++);
            continue;
        }
        const size_t pos = permutation_[cursor_++];
        std::memcpy(data.ptr<float>() + batch.rows.size() * values, drawn_view(pos), values * sizeof(float));
        batch.rows.push_back(current_.rows[pos]);
        batch.labels.push_back(reader_.labels()[static_cast<size_t>(current_.rows[pos])]);
    }
    if (batch.rows.empty()) return false;
    const int n = static_cast<int>(batch.rows.size());
    if (n == batch_) {
        batch.data = data;
    } else {
        std::vector<cv::Range> first_rows(static_cast<size_t>(data.dims), cv::Range::all());
        first_rows[0] = cv::Range(0, n);
        batch.data = data(first_rows).clone();
    }
    return true;
}

}  // namespace cvtl
