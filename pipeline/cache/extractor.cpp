#include "pipeline/cache/extractor.hpp"
#include "pipeline/core/shape.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/cache/disk_space.hpp"

#include "pipeline/data/batch_runner.hpp"
#include "pipeline/cache/cache_writer.hpp"
#include "pipeline/cache/cache_update.hpp"
#include "pipeline/cache/row_extraction.hpp"
#include "pipeline/cache/shards.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_merge.hpp"
#include "pipeline/dist/shared_dataset.hpp"
#include "pipeline/core/sha256.hpp"
#include "pipeline/data/dataset.hpp"
#include "pipeline/data/preprocess.hpp"
#include "pipeline/cache/tap_engine.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"

#include <boost/filesystem.hpp>
#include <opencv2/core/utility.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <tuple>

namespace cvtl {
namespace {

// The taps asked for, in network order; none asked means the outputs of blocks 4 and 5. A VGG's taps
// may be asked for by block (block4 is pool4).
std::vector<std::string> ordered_taps(std::vector<std::string> requested, const BlockMap& map) {
    const tap::Style style = map.tap_style();
    if (requested.empty()) requested = {tap::block_output(4, style), tap::block_output(5, style)};
    for (std::string& name : requested) name = tap::canonical(name, style);
    std::vector<std::string> taps;
    for (const std::string& name : tap::all(style)) {
        if (std::find(requested.begin(), requested.end(), name) == requested.end()) continue;
        map.tap(name);  // throws when this model lacks it (e.g. fc6 on a one-layer classifier)
        taps.push_back(name);
    }
    for (const std::string& name : requested)
        if (std::find(taps.begin(), taps.end(), name) == taps.end())
            throw Error("unknown tap '" + name + "' (this model's taps: " + tap::list(style) + ")");
    return taps;
}

// Everything that binds the cache to what produced it (a resumed cache must match it exactly).
CacheConfig cache_config(const ExtractOptions& options, const SourceModel& model, const BlockMap& map,
                         const std::vector<std::string>& taps, const Preprocessing& pre, const Dataset& data,
                         const std::string& precision) {
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
    config.test_fraction = options.test_fraction;
    config.seed = options.seed;
    config.views = options.views;
    config.augment = options.views > 1 ? parse_augment_spec(options.augment).to_string() : "none";
    return config;
}

BlockMap block_map_at(SourceModel& model, int size, const std::string& label) {
    if (size <= 0) throw Error("model " + label + " does not declare its input size; pass {size} N");
    try {
        return map_blocks(model.net, size, label);
    } catch (const cv::Exception& e) {
        throw Error("model " + label + " cannot run at input size " + std::to_string(size) + ": " + e.err);
    }
}

ExtractPlan plan_of(const Dataset& data, const CacheConfig& config) {
    const std::size_t value_bytes = dtype_bytes(config.dtype);
    ExtractPlan plan;
    plan.images = static_cast<std::int64_t>(data.samples.size());
    for (const Sample& s : data.samples) plan.train_images += s.split == Split::Train;
    plan.views = config.views;
    plan.rows = plan.images + plan.train_images * (config.views - 1);
    std::uint64_t row_bytes = 0;
    for (const TapLayout& t : config.taps) {
        const std::uint64_t values = shape_count(t.shape);
        plan.tap_row_bytes.emplace_back(t.name, values * value_bytes);
        row_bytes += plan.tap_row_bytes.back().second;
    }
    plan.bytes = row_bytes * static_cast<std::uint64_t>(plan.rows);
    return plan;
}

std::uint64_t existing_bytes(const std::string& path) {
    boost::system::error_code ec;
    const auto size = boost::filesystem::file_size(path, ec);
    return ec ? 0 : static_cast<std::uint64_t>(size);
}

// Segments hold the rows; a mapped cache keeps them where they are, and a copied one (a shard, or
// {single-file}) needs one more copy of every row at the end. Compressed sizes cannot be known before
// the data is seen; the uncompressed size bounds them.
bool copies_segments(const ExtractOptions& options) { return options.single_file || options.shards > 0; }

void check_disk(ExtractPlan& plan, const ExtractOptions& options, std::int64_t images_done, std::uint64_t freed) {
    const double left =
        plan.images > 0 ? static_cast<double>(plan.images - images_done) / static_cast<double>(plan.images) : 0.0;
    plan.disk_needed = static_cast<std::uint64_t>(left * static_cast<double>(plan.bytes)) +
                       (copies_segments(options) ? plan.bytes : 0);
    const std::string dir = boost::filesystem::path(options.output).parent_path().string();
    plan.disk_free = free_bytes(dir) + freed;
    if (options.compress) return;
    check_room(dir, plan.disk_needed - std::min(freed, plan.disk_needed),
               "the cache " + options.output +
                   (copies_segments(options) ? " (its segments, then the assembled file)" : " (its segments)"),
               "free some space, write the cache elsewhere ({output}), store half the bytes ({dtype} f16), or cache "
               "fewer taps ({taps})");
}

void check_views(const ExtractOptions& options) {
    if (options.views < 1 || options.views > 255)
        throw Error("{views} must be in 1..255, got " + std::to_string(options.views));
    if (options.views > 1 && !parse_augment_spec(options.augment).any())
        throw Error("{views} " + std::to_string(options.views) + " with {augment} none would store the same image " +
                    std::to_string(options.views) + " times; give an {augment} SPEC (e.g. default) or {views} 1");
}

// A new cache, or the rest of an unfinished one, at options.output.
ExtractSummary write_cache(const ExtractOptions& options, const RowExtraction& job, const ExtractEvents& events) {
    ExtractSummary summary;
    summary.backend = job.engine.description();
    summary.output = options.output;
    ExtractPlan plan = plan_of(job.data, job.config);
    // --force replaces the cache: refuse before the writer deletes it, counting the room it frees.
    if (options.force) check_disk(plan, options, 0, existing_bytes(options.output));
    // A shard stays one file: the merged cache maps the shards, and would otherwise map maps.
    CacheWriter writer(options.output, job.config, options.force,
                       copies_segments(options) ? CacheWriter::Assembly::copy : CacheWriter::Assembly::map);
    summary.resumed_from = writer.done();
    if (writer.state() == CacheWriter::State::AlreadyComplete) {
        summary.already_complete = true;
        summary.rows = writer.done();
        return summary;
    }
    if (!options.force) check_disk(plan, options, writer.next_input(), 0);  // a resume needs only the rest
    if (events.planned) events.planned(plan);
    const std::uint64_t size_before = writer.file_size();
    const auto start = std::chrono::steady_clock::now();

    const PipelineTimes times = extract_rows(job, writer, events, summary);

    const auto assembly = std::chrono::steady_clock::now();
    writer.finish();
    summary.assembly_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - assembly).count();
    summary.segments = writer.segments();
    summary.rows_dir = writer.rows_dir();
    summary.rows = writer.done();
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    summary.add_times(times);
    summary.bytes_written = writer.file_size() - std::min(size_before, writer.file_size());
    return summary;
}

// One shard: its range of the global sample list, into OUTPUT.shards/rank-K-of-N.h5, as an ordinary
// cache bound to the whole dataset's fingerprint and its place in it.
ExtractSummary extract_shard(const ExtractOptions& options, const RowExtraction& job, const ExtractEvents& events) {
    if (options.update)
        throw Error("{update} and {shard} do not combine; update the merged cache, or extract the shards again");
    const ShardRef shard{options.shard, options.shards};
    check_shard_count(options.output, shard);
    ShardRecord record{shard, 0, 0, job.config.dataset_fingerprint, job.config.dataset_size};
    std::tie(record.begin, record.end) = shard_range(record.dataset_size, shard);
    Dataset part = job.data;
    part.samples.assign(job.data.samples.begin() + record.begin, job.data.samples.begin() + record.end);
    CacheConfig config = job.config;
    config.dataset_fingerprint = sha256_bytes(job.config.dataset_fingerprint + " shard " + std::to_string(shard.index) +
                                              "/" + std::to_string(shard.count));
    config.dataset_size = record.end - record.begin;
    config.shard = record.to_json().dump();
    ExtractOptions one = options;
    one.output = shard_path(options.output, shard);
    return write_cache(one, {part, job.pre, job.engine, config, job.batch, job.threads, "extract"}, events);
}

// mpirun refuses to turn a single-process cache into a merged one unless told to replace it.
void check_merge_target(const ExtractOptions& options) {
    if (options.force || !boost::filesystem::exists(options.output)) return;
    if (read_cache_info(options.output).shards.empty())
        throw Error(
            options.output +
            " exists and is not a cache merged from shards; pass {force} to replace it, or write to another path");
}

// Under mpirun: every rank extracts its shard, then rank 0 writes OUTPUT over all of them. A
// failure on any rank fails every rank, after the others finished what they could (a re-run
// resumes each shard).
ExtractSummary extract_on_ranks(const ExtractOptions& options, const RowExtraction& job, const ExtractEvents& events) {
    const Communicator& comm = options.comm;
    const auto start = std::chrono::steady_clock::now();
    comm.all_or_none([&] {
        if (comm.root()) check_merge_target(options);
    });
    ExtractOptions mine = options;
    mine.shard = comm.rank(), mine.shards = comm.size();
    ExtractSummary s;
    comm.all_or_none([&] { s = extract_shard(mine, job, events); });
    std::int64_t totals[] = {s.images,
                             s.skipped,
                             s.rows,
                             s.resumed_from,
                             static_cast<std::int64_t>(s.bytes_written),
                             s.already_complete ? 0 : 1};
    comm.sum(totals, 6);
    comm.all_or_none([&] {
        if (!comm.root()) return;
        MergeOptions merge{options.output, {}, false, true};
        for (int k = 0; k < comm.size(); ++k) merge.shards.push_back(shard_path(options.output, {k, comm.size()}));
        merge_shards(merge);
    });
    s.images = totals[0], s.skipped = totals[1], s.rows = totals[2], s.resumed_from = totals[3];
    s.bytes_written = static_cast<std::uint64_t>(totals[4]);
    s.already_complete = totals[5] == 0;
    s.segments = 0;  // rank 0's own shard's copy is not the job's: the merged cache maps the shards
    s.output = options.output;
    s.ranks = comm.size();
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return s;
}

// The model, where its taps are and how its input is prepared: the settings' part of a run.
struct ModelSetup {
    SourceModel model;
    BlockMap map;
    std::vector<std::string> taps;
    Preprocessing pre;
};

ModelSetup open_model(const ExtractOptions& options) {
    if (options.batch < 1) throw Error("{batch} must be at least 1");
    if (options.comm.distributed() && options.shards > 0)
        throw Error("under mpirun each rank extracts one shard; drop {shard} (it is for runs without mpirun)");
    if (options.comm.distributed() && options.update)
        throw Error(
            "{update} runs in one process: update the cache without mpirun, or extract again under mpirun with "
            "{force}");
    check_views(options);
    ModelSetup m{load_model(options.model, options.weights), {}, {}, {}};
    const int size = options.size > 0 ? options.size : m.model.input_size;
    m.map = block_map_at(m.model, size, options.model);
    m.taps = ordered_taps(options.taps, m.map);
    m.pre = make_preprocessing(options.preset, size, options.mean, options.std);
    return m;
}

}  // namespace

ExtractSummary run_extraction(const ExtractOptions& options, const ExtractEvents& events) {
    const Communicator& comm = options.comm;
    // Under mpirun each step below fails on every rank when it fails on one (no rank left waiting).
    std::optional<ModelSetup> m;
    comm.all_or_none([&] { m.emplace(open_model(options)); });
    const int threads = resolve_threads(options.threads);
    const Dataset data = scan_on_root(comm, [&] {
        return scan_dataset(options.data,
                            {options.val_fraction, options.seed, options.max_image_bytes, options.test_fraction});
    });
    std::optional<TapEngine> engine;
    std::optional<CacheConfig> config;
    comm.all_or_none([&] {
        engine.emplace(m->model, m->map, m->taps,
                       EngineChoice{options.engine, options.precision, options.backend, threads}, events);
        config.emplace(cache_config(options, m->model, m->map, m->taps, m->pre, data, engine->precision()));
    });
    const RowExtraction job{
        data, m->pre, *engine, *config, options.batch, threads, options.update ? "update" : "extract"};

    if (comm.distributed()) return extract_on_ranks(options, job, events);
    if (options.shards > 0) return extract_shard(options, job, events);
    if (options.update && !options.force && boost::filesystem::exists(options.output)) {
        if (events.planned) events.planned(plan_of(data, *config));
        return update_cache(options.output, job, events);
    }
    RowExtraction plain = job;
    plain.stage = "extract";
    return write_cache(options, plain, events);
}

}  // namespace cvtl
