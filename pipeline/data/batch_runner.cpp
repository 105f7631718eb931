#include "pipeline/data/batch_runner.hpp"

#include "pipeline/data/image_decode.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <thread>

namespace cvtl {
namespace {

// One entry's decoded planes: view 0 and, for a training sample, views 1..K-1.
struct Decoded {
    std::vector<cv::Mat> views;  // each 1 x 3*S*S float32
    FileStamp stamp;
    std::string reason;
};

Decoded decode_one(const Dataset& data, const Sample& s, const Preprocessing& pre, const DecodeExtras& extras) {
    Decoded d;
    const std::string file = data.file(s);
    if (extras.stamps) d.stamp = stamp_file(file, data.max_image_bytes);  // before reading: see stamp_file
    const cv::Mat image = read_bgr8(file, d.reason, data.max_image_bytes);
    if (image.empty()) return d;
    const int S = pre.size;
    const int views = s.split == Split::Train ? std::max(1, extras.views) : 1;  // validation and test rows: view 0 only
    for (int v = 0; v < views; ++v) {
        cv::Mat plane(1, 3 * S * S, CV_32F);
        preprocess_image(view_image(image, extras.augment, extras.seed, s.path, v), pre, plane.ptr<float>());
        d.views.push_back(plane);
    }
    return d;
}

void decode(ImageBatch& batch, const Dataset& data, const Preprocessing& pre, const DecodeExtras& extras) {
    const int S = pre.size;
    const size_t values =
        3 * static_cast<size_t>(S) * static_cast<size_t>(S);  // size_t: 3*S*S overflows int above S ~ 26,750
    const auto n = static_cast<size_t>(batch.count);
    std::vector<Decoded> decoded(n);
    oneapi::tbb::parallel_for(size_t(0), n, [&](size_t i) {
        decoded[i] = decode_one(data, data.samples[static_cast<size_t>(batch.first) + i], pre, extras);
    });
    std::vector<const cv::Mat*> order;  // the blob's rows: kept entries' view 0, then their other views
    for (size_t i = 0; i < n; ++i) {
        batch.reasons.push_back(decoded[i].reason);
        if (!decoded[i].reason.empty()) continue;
        batch.kept.push_back(batch.first + static_cast<std::int64_t>(i));
        if (extras.stamps) batch.stamps.push_back(decoded[i].stamp);
        order.push_back(&decoded[i].views[0]);
    }
    for (size_t i = 0, k = 0; i < n; ++i) {
        if (!decoded[i].reason.empty()) continue;
        for (size_t v = 1; v < decoded[i].views.size(); ++v) {
            batch.view_of.push_back(static_cast<std::int64_t>(k));
            batch.view_index.push_back(static_cast<std::uint8_t>(v));
            order.push_back(&decoded[i].views[v]);
        }
        ++k;
    }
    batch.blob.create(std::vector<int>{static_cast<int>(order.size()), 3, S, S}, CV_32F);
    float* dst = batch.blob.ptr<float>();
    for (const cv::Mat* plane : order) dst = std::copy_n(plane->ptr<float>(), values, dst);
}

}  // namespace

PipelineTimes run_image_batches(const Dataset& data, std::int64_t first, const Preprocessing& pre, int batch,
                                int threads, const BatchForward& forward, const BatchConsumer& consume,
                                const DecodeExtras& extras) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    PipelineTimes times;
    if (batch < 1) throw Error("{batch} must be at least 1");
    if (extras.views < 1 || extras.views > 255)
        throw Error("{views} must be in 1..255, got " + std::to_string(extras.views));
    threads = resolve_threads(
        threads);  // one arena of `threads` for decoding, the network and the consumer (OpenCV joins it under the caller's ThreadPolicy)
    oneapi::tbb::task_arena arena(threads);
    const auto total = static_cast<std::int64_t>(data.samples.size());
    std::int64_t next = first;
    using oneapi::tbb::filter_mode;
    using Owned = std::shared_ptr<ImageBatch>;  // freed even when a stage throws
    arena.execute([&] {
        oneapi::tbb::parallel_pipeline(
            static_cast<size_t>(threads) + 2,
            oneapi::tbb::make_filter<void,
                                     Owned>(filter_mode::serial_in_order, [&](oneapi::tbb::flow_control& fc) -> Owned {
                if (next >= total) {
                    fc.stop();
                    return nullptr;
                }
                auto b = std::make_shared<ImageBatch>();
                b->first = next;
                b->count = std::min<std::int64_t>(batch, total - next);
                next += b->count;
                return b;
            }) & oneapi::tbb::make_filter<Owned, Owned>(filter_mode::parallel, [&](Owned b) {
                decode(*b, data, pre, extras);
                return b;
            }) & oneapi::tbb::make_filter<Owned, Owned>(filter_mode::serial_in_order, [&](Owned b) {
                if (!b->kept.empty()) {
                    const auto t = Clock::now();
                    b->outputs = forward(b->blob, static_cast<int>(b->kept.size()));
                    const double spent = std::chrono::duration<double>(Clock::now() - t).count();
                    if (times.network_seconds > 0) {
                        times.steady_network_seconds += spent;
                        times.steady_images += static_cast<std::int64_t>(b->kept.size());
                    }
                    times.network_seconds += spent;
                }
                return b;
            }) & oneapi::tbb::make_filter<Owned, void>(filter_mode::serial_in_order, [&](Owned b) { consume(*b); }));
    });
    times.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return times;
}

}  // namespace cvtl
