#include "pipeline/cache/extractor.hpp"

#include "pipeline/data/batch_runner.hpp"
#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "plugin/block_map.hpp"
#include "plugin/error.hpp"
#include "plugin/model_loader.hpp"

#include <opencv2/core/utility.hpp>


#include <algorithm>
#include <chrono>

namespace cvtl {
namespace {

std::vector<std::string> ordered_taps(const std::vector<std::string>& requested, const BlockMap& map) {
    if (requested.empty()) throw Error("{taps} is empty; name at least one of input,pool1..pool5,fc6,fc7,logits");
    std::vector<std::string> taps;
    for (const std::string& name : tap_names()) {
        if (std::find(requested.begin(), requested.end(), name) == requested.end()) continue;
        map.tap(name);  // throws when this model lacks it (e.g. fc6 on a one-layer classifier)
        taps.push_back(name);
    }
    for (const std::string& name : requested)
        if (std::find(taps.begin(), taps.end(), name) == taps.end())
            throw Error("unknown tap '" + name + "' (expected input, pool1..pool5, fc6, fc7 or logits)");
    return taps;
}

CacheRows to_rows(ImageBatch& batch, const Dataset& data) {
    CacheRows rows;
    rows.inputs = batch.count;
    for (std::int64_t i : batch.kept) {
        const Sample& s = data.samples[static_cast<size_t>(i)];
        rows.paths.push_back(s.path);
        rows.labels.push_back(s.label);
        rows.splits.push_back(static_cast<std::uint8_t>(s.split));
    }
    for (size_t i = 0; i < batch.reasons.size(); ++i)
        if (!batch.reasons[i].empty()) {
            rows.skipped_paths.push_back(data.samples[static_cast<size_t>(batch.first) + i].path);
            rows.skipped_reasons.push_back(batch.reasons[i]);
        }
    rows.taps = std::move(batch.outputs);
    return rows;
}

// Everything that binds the cache to what produced it (a resumed cache must match it exactly).
CacheConfig cache_config(const ExtractOptions& options, const SourceModel& model, const BlockMap& map, const std::vector<std::string>& taps,
                         const Preprocessing& pre, const Dataset& data, const std::string& precision) {
    CacheConfig config;
    config.model_sha256 = model.sha256;
    config.model_file = options.model;
    config.model_weights = model.weights;
    config.preprocess = pre;
    for (const auto& t : taps) config.taps.push_back({t, map.tap(t).layer_name, map.tap(t).shape});
    config.dtype = options.dtype;
    config.precision = precision;
    config.compress = options.compress;
    config.dataset = options.data;
    config.dataset_fingerprint = data.fingerprint();
    config.dataset_size = static_cast<std::int64_t>(data.samples.size());
    config.classes = data.classes;
    config.val_fraction = options.val_fraction;
    config.seed = options.seed;
    return config;
}

BlockMap block_map_at(SourceModel& model, int size, const std::string& label) {
    if (size <= 0) throw Error("model " + label + " does not declare its input size; pass {size} N");
    try {
        return map_vgg_blocks(model.net, size, label);
    } catch (const cv::Exception& e) {
        throw Error("model " + label + " cannot run at input size " + std::to_string(size) + ": " + e.err);
    }
}

}  // namespace

ExtractSummary run_extraction(const ExtractOptions& options, const Events& events) {
    if (options.batch < 1) throw Error("{batch} must be at least 1");
    const int threads = resolve_threads(options.threads);
    SourceModel model = load_model(options.model, options.weights);
    const int size = options.size > 0 ? options.size : model.input_size;
    const BlockMap map = block_map_at(model, size, options.model);
    const std::vector<std::string> taps = ordered_taps(options.taps, map);
    const Preprocessing pre = make_preprocessing(options.preset, size, options.mean, options.std);
    const Dataset data = scan_dataset(options.data, {options.val_fraction, options.seed, options.max_image_bytes});

    ExtractSummary summary;
    TapEngine engine(model, map, taps, {options.engine, options.precision, options.backend, threads}, events);
    summary.backend = engine.description();

    const CacheConfig config = cache_config(options, model, map, taps, pre, data, engine.precision());

    CacheWriter writer(options.output, config, options.force);
    summary.resumed_from = writer.done();
    if (writer.state() == CacheWriter::State::AlreadyComplete) {
        summary.already_complete = true;
        summary.rows = writer.done();
        return summary;
    }
    const std::uint64_t size_before = writer.file_size();
    const auto start = std::chrono::steady_clock::now();
    const auto total = static_cast<std::int64_t>(data.samples.size());
    std::int64_t next = writer.next_input();
    events.report({"extract", next, total, 0, ""});

    const PipelineTimes times = run_image_batches(
        data, next, pre, options.batch, threads,
        [&](const cv::Mat& blob) { return engine(blob); },
        [&](ImageBatch& batch) {
            if (batch.kept.empty())  // a batch of undecodable files still covers its entries
                for (const auto& t : config.taps) {
                    std::vector<int> shape{0};
                    shape.insert(shape.end(), t.shape.begin(), t.shape.end());
                    batch.outputs.emplace_back(shape, CV_32F);
                }
            CacheRows rows = to_rows(batch, data);
            writer.append(rows);
            summary.images += static_cast<std::int64_t>(rows.paths.size());
            summary.skipped += static_cast<std::int64_t>(rows.skipped_paths.size());
            for (size_t i = 0; i < batch.reasons.size(); ++i)
                if (!batch.reasons[i].empty())
                    events.warning("skipped " + data.file(data.samples[static_cast<size_t>(batch.first) + i]) + ": " + batch.reasons[i]);
            events.report({"extract", writer.next_input(), total, 0, ""});
        });

    writer.finish();
    summary.rows = writer.done();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.network_seconds = times.network_seconds;
    summary.bytes_written = writer.file_size() - std::min(size_before, writer.file_size());
    return summary;
}

}  // namespace cvtl
