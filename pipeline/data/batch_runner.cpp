#include "pipeline/data/batch_runner.hpp"

#include "pipeline/data/image_decode.hpp"
#include "plugin/error.hpp"
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

void decode(ImageBatch& batch, const Dataset& data, const Preprocessing& pre) {
    const int S = pre.size;
    const size_t values = 3 * static_cast<size_t>(S) * static_cast<size_t>(S);  // size_t: 3*S*S overflows int above S ~ 26,750
    const auto n = static_cast<size_t>(batch.count);
    std::vector<cv::Mat> planes(n);
    batch.reasons.assign(n, "");
    oneapi::tbb::parallel_for(size_t(0), n, [&](size_t i) {
        const Sample& s = data.samples[static_cast<size_t>(batch.first) + i];
        std::string reason;
        cv::Mat image = read_bgr8(data.file(s), reason, data.max_image_bytes);
        if (image.empty()) {
            batch.reasons[i] = reason;
            return;
        }
        planes[i].create(1, static_cast<int>(values), CV_32F);
        preprocess_image(image, pre, planes[i].ptr<float>());
    });
    for (size_t i = 0; i < n; ++i)
        if (batch.reasons[i].empty()) batch.kept.push_back(batch.first + static_cast<std::int64_t>(i));
    batch.blob.create(std::vector<int>{static_cast<int>(batch.kept.size()), 3, S, S}, CV_32F);
    float* dst = batch.blob.ptr<float>();
    for (size_t i = 0; i < n; ++i)
        if (batch.reasons[i].empty()) {
            std::copy_n(planes[i].ptr<float>(), values, dst);
            dst += values;
        }
}

}  // namespace

PipelineTimes run_image_batches(const Dataset& data, std::int64_t first, const Preprocessing& pre, int batch, int threads,
                                const BatchForward& forward, const BatchConsumer& consume) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    PipelineTimes times;
    if (batch < 1) throw Error("{batch} must be at least 1");
    threads = resolve_threads(threads);  // one arena of `threads` for decoding, the network and the consumer (OpenCV joins it under the caller's ThreadPolicy)
    oneapi::tbb::task_arena arena(threads);
    const auto total = static_cast<std::int64_t>(data.samples.size());
    std::int64_t next = first;
    using oneapi::tbb::filter_mode;
    using Owned = std::shared_ptr<ImageBatch>;  // freed even when a stage throws
    arena.execute([&] {
        oneapi::tbb::parallel_pipeline(
            static_cast<size_t>(threads) + 2,
            oneapi::tbb::make_filter<void, Owned>(filter_mode::serial_in_order,
                [&](oneapi::tbb::flow_control& fc) -> Owned {
                    if (next >= total) {
                        fc.stop();
                        return nullptr;
                    }
                    auto b = std::make_shared<ImageBatch>();
                    b->first = next;
                    b->count = std::min<std::int64_t>(batch, total - next);
                    next += b->count;
                    return b;
                }) &
            oneapi::tbb::make_filter<Owned, Owned>(filter_mode::parallel,
                [&](Owned b) {
                    decode(*b, data, pre);
                    return b;
                }) &
            oneapi::tbb::make_filter<Owned, Owned>(filter_mode::serial_in_order,
                [&](Owned b) {
                    if (!b->kept.empty()) {
                        const auto t = Clock::now();
                        b->outputs = forward(b->blob);
                        times.network_seconds += std::chrono::duration<double>(Clock::now() - t).count();
                    }
                    return b;
                }) &
            oneapi::tbb::make_filter<Owned, void>(filter_mode::serial_in_order, [&](Owned b) { consume(*b); }));
    });
    times.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return times;
}

}  // namespace cvtl
