#include "pipeline/train/trainer.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/train/batch_stream.hpp"
#include "pipeline/dist/batch_slice.hpp"
#include "pipeline/dist/gradient_reducer.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/train/run_meta.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/validation_pass.hpp"
#include "pipeline/train/train_defaults.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/hashing.hpp"
#include "plugin/thread_policy.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/engine/layers/dropout.hpp"
#include "pipeline/engine/layers/onednn_context.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"

#include <cvtl/version.hpp>

#include <boost/filesystem.hpp>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <thread>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;

// The tap a run reads. The cache's taps tell the backbone's style: a VGG's new classifier reads pool5
// (its fc6 and fc7 are retrained above it), another backbone's reads the pooled features.
std::string tap_for(const TrainOptions& o, const CacheInfo& info) {
    std::vector<std::string> cached;
    for (const auto& t : info.taps) cached.push_back(t.name);
    const tap::Style style = tap::style_of(cached);
    const std::string classifier = tap::classifier_input(style);
    if (o.strategy == Strategy::classifier) {
        if (o.head == ClassifierHead::source) {
            if (!o.tap.empty() && o.tap != classifier)
                throw Error("{tap} applies to {head} linear; the source classifier reads " + classifier);
            return classifier;
        }
        if (!o.tap.empty()) return tap::canonical(o.tap, style);
        for (const auto& t : info.taps)
            if (t.name == tap::hidden(2)) return tap::hidden(2);
        return classifier;
    }
    if (!o.tap.empty()) throw Error("{tap} applies to {strategy} classifier {head} linear only");
    if (o.strategy == Strategy::scratch) return tap::input;
    if (o.from_block < 1 || o.from_block > 5)
        throw Error("{from-block} must be 1..5, got " + std::to_string(o.from_block));
    return tap::block_input(o.from_block, style);
}

// The source model files: the options', else the cache's.
ModelFiles model_files(const TrainOptions& o, const CacheInfo& info) {
    return choose_model({o.model, o.weights},
                        {info.attributes.value("model_file", ""), info.attributes.value("model_weights", "")});
}

// The source model, verified to be the one the cache was made from.
SourceModel source_model(const TrainOptions& o, const CacheInfo& info) {
    const std::string recorded = info.attributes.value("model_file", "");
    const ModelFiles files = model_files(o, info);
    const std::string& path = files.path;
    if (path.empty() || !fs::exists(path))
        throw Error(std::string("strategy ") + to_string(o.strategy) +
                    " needs the source model the cache was made from (" + recorded + " not found); pass {model} MODEL");
    const bool given =
        o.source && o.source->path == path && (files.weights.empty() || o.source->weights == files.weights);
    SourceModel model = given ? *o.source : load_model(path, files.weights);
    const std::string expected = info.attributes.value("model_sha256", "");
    if (model.sha256 != expected)
        throw Error("cache " + info.path + " was made from another model (sha256 " + expected.substr(0, 12) + "..., " +
                    recorded + "), not " + path + " (sha256 " + model.sha256.substr(0, 12) +
                    "...); pass the model the cache was made from");
    return model;
}

nlohmann::json dropout_calls(Network& net) {
    nlohmann::json j = nlohmann::json::object();
    for (auto& e : net.entries())
        if (auto* d = dynamic_cast<Dropout*>(e.layer.get())) j[e.spec.name] = d->calls();
    return j;
}

void restore_dropout_calls(Network& net, const nlohmann::json& j) {
    for (auto& e : net.entries())
        if (auto* d = dynamic_cast<Dropout*>(e.layer.get())) d->set_calls(j.value(e.spec.name, std::uint64_t{0}));
}

void apply_lr_mult(Network& net, const std::map<std::string, double>& mult) {
    for (const auto& [block, m] : mult) {
        bool found = false;
        for (auto& e : net.entries())
            if (e.spec.block == block) found = true;
        if (!found)
            throw Error("{lr-mult} names " + block +
                        ", which this network does not train (blocks: block1..block5, classifier)");
        if (m < 0) throw Error("{lr-mult} " + block + " must not be negative");
    }
    for (auto& e : net.entries()) {
        auto it = mult.find(e.spec.block);
        for (Param* p : e.layer->params()) p->lr_mult = it == mult.end() ? 1.0f : static_cast<float>(it->second);
    }
}

// The network above the tap, with its initial weights, and the file export will read the frozen part from.
struct BuiltNetwork {
    Head head;
    ModelFiles model;
};

BuiltNetwork build_network(const TrainOptions& o, const CacheInfo& info, const std::string& tap,
                           const std::vector<int>& shape, int classes) {
    BuiltNetwork b;
    if (o.strategy == Strategy::classifier && o.head == ClassifierHead::linear) {
        b.head = build_linear_probe(tap, shape, classes);
        b.model = model_files(o, info);  // for export's frozen part
        return b;
    }
    SourceModel model = source_model(o, info);
    b.model = {model.path, model.weights};
    BlockMap map = map_blocks(model.net, info.attributes.at("preprocess").at("size").get<int>(), model.path);
    if (map.tap(tap).shape != shape)
        throw Error("cache tap " + tap + " does not have the model's shape at this input size");
    HeadOptions head_options;
    head_options.from_tap = tap;
    head_options.classes = classes;
    head_options.dropout = o.dropout;
    head_options.seed = o.seed;
    b.head = build_head(model.net, map, head_options);
    return b;
}

// Progress of the best-model choice, as saved in the checkpoint.
struct BestSoFar {
    double accuracy = -1;
    double loss = std::numeric_limits<double>::infinity();
    int epoch = 0;
    int since = 0;
    bool early_stopped = false;

    // Higher accuracy wins; equal accuracy goes to the lower loss. Small validation splits tie often,
    // and the earliest tied epoch is usually undertrained.
    bool improved_by(double acc, double loss_value) const {
        return acc > accuracy || (acc == accuracy && loss_value < loss);
    }
};

struct Loop {
    Network& net;
    Optimizer& optimizer;
    Schedule schedule;
    BatchStream& train;
    BatchStream& val;
    size_t classes;
    GradientReducer& reducer;
    Communicator comm;
};

// One step's global loss and correct count: what the divergence check and the metrics see, the
// same on every rank.
struct StepResult {
    double loss = 0;
    long long correct = 0, rows = 0;
    double compute_seconds = 0, reduce_seconds = 0;
};

// Forward and backward of this rank's slice, gradients summed over ranks. In one process the
// slice is the batch and nothing is scaled or exchanged.
StepResult train_step(Loop& l, const Batch& batch) {
    const auto start = Clock::now();
    const BatchSlice slice = slice_for(batch, l.comm);
    std::vector<double> local{0, 0, static_cast<double>(slice.rows)};
    double mean = 0;
    if (slice.rows == 0) {
        l.net.skip_training_forward();
        l.reducer.contribute_zeros();
    } else {
        l.net.set_batch_offset(slice.first);
        const cv::Mat& logits = l.net.forward(slice.data, true);
        cv::Mat diff;
        mean = softmax_cross_entropy(logits, slice.labels, diff);
        local[0] = mean * static_cast<double>(slice.rows);
        for (int i = 0; i < logits.rows; ++i) {
            cv::Point argmax;
            cv::minMaxLoc(logits.row(i), nullptr, nullptr, nullptr, &argmax);
            local[1] += argmax.x == slice.labels[static_cast<size_t>(i)];
        }
        if (slice.rows != slice.global) diff *= slice.share();
        l.net.backward(diff, [&](std::size_t layer) { l.reducer.layer_done(layer); });
    }
    const auto computed = Clock::now();
    l.reducer.finish();
    const double compute = std::chrono::duration<double>(computed - start).count();
    if (!l.comm.distributed()) return {mean, static_cast<long long>(local[1]), slice.rows, compute, 0};
    l.comm.sum(local.data(), local.size());
    return {local[0] / local[2], static_cast<long long>(local[1]), static_cast<long long>(local[2]), compute,
            std::chrono::duration<double>(Clock::now() - computed).count()};
}

EpochMetrics train_one_epoch(Loop& l, int epoch, const TrainOptions& o, const TrainEvents& events) {
    const auto epoch_start = Clock::now();
    const double steps_per_epoch = std::ceil(static_cast<double>(l.train.size()) / o.batch);
    l.train.start_epoch(epoch);
    Batch batch;
    EpochMetrics m;
    double loss_sum = 0, lr = 0;
    long long correct = 0, seen = 0, step = 0;
    while (l.train.next(batch)) {
        lr = l.schedule.at(epoch + static_cast<double>(step) / steps_per_epoch);
        const StepResult r = train_step(l, batch);
        if (!std::isfinite(r.loss))
            throw Error("training diverged at epoch " + std::to_string(epoch + 1) + " (loss " + std::to_string(r.loss) +
                        " at learning rate " + std::to_string(lr) + "); try a lower learning rate. " + o.output +
                        " keeps the last good epoch");
        const auto stepped = Clock::now();
        l.optimizer.step(lr);
        m.optimizer_seconds += std::chrono::duration<double>(Clock::now() - stepped).count();
        m.compute_seconds += r.compute_seconds;
        m.reduce_seconds += r.reduce_seconds;
        loss_sum += r.loss * static_cast<double>(r.rows);
        correct += r.correct;
        seen += r.rows;
        ++step;
        events.report({"epoch " + std::to_string(epoch + 1) + "/" + std::to_string(o.epochs), seen, l.train.size(),
                       epoch + 1, ""});
    }
    m.epoch = epoch + 1;
    m.train_loss = loss_sum / static_cast<double>(seen);
    m.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    m.learning_rate = lr;
    m.images_per_second = static_cast<double>(seen) / std::chrono::duration<double>(Clock::now() - epoch_start).count();
    const EvalResult v = validation_pass(l.net, l.val, l.classes, l.comm);
    m.val_loss = v.loss;
    m.val_accuracy = v.accuracy;
    m.seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
    return m;
}

void save_checkpoint(const std::string& path, const nlohmann::json& meta, Network& net, const NetworkSpec& spec,
                     Optimizer& optimizer, const BestSoFar& best, const TrainSummary& summary) {
    const std::vector<EpochMetrics>& history = summary.history;
    nlohmann::json h = nlohmann::json::array();
    for (const auto& m : history) h.push_back(m.to_json());
    const nlohmann::json progress = {
        {"epoch", history.empty() ? 0 : history.back().epoch},
        {"steps", optimizer.steps()},
        {"dropout_calls", dropout_calls(net)},
        {"best_val_accuracy", best.accuracy},
        {"best_val_loss", std::isfinite(best.loss) ? nlohmann::json(best.loss) : nlohmann::json(nullptr)},
        {"best_epoch", best.epoch},
        {"kept_epoch", summary.best_epoch},
        {"since_best", best.since},
        {"early_stopped", best.early_stopped},
        {"history", h}};
    save_run_state(path,
                   RunState{RunKind::checkpoint, meta, spec.to_json(), progress, save_weights(net), optimizer.state()});
}

BestSoFar restore_checkpoint(const RunState& saved, Network& net, Optimizer& optimizer, TrainSummary& summary) {
    load_weights(net, saved.weights);
    optimizer.load_state(saved.optimizer);
    optimizer.set_steps(saved.progress.at("steps"));
    restore_dropout_calls(net, saved.progress.at("dropout_calls"));
    BestSoFar best;
    best.accuracy = saved.progress.at("best_val_accuracy");
    const auto loss = saved.progress.value("best_val_loss", nlohmann::json(nullptr));
    if (!loss.is_null()) best.loss = loss.get<double>();
    best.epoch = saved.progress.at("best_epoch");
    best.since = saved.progress.at("since_best");
    best.early_stopped = saved.progress.value("early_stopped", false);
    summary.best_epoch = saved.progress.value("kept_epoch", best.epoch);  // older checkpoints: the best
    for (const auto& m : saved.progress.at("history")) summary.history.push_back(EpochMetrics::from_json(m));
    summary.resumed = true;
    return best;
}

std::shared_ptr<CacheReader> open_reader(const TrainOptions& o, const std::string& tap) {
    if (o.reader && o.reader->tap() == tap && o.reader->path() == o.cache) return o.reader;
    return std::make_shared<CacheReader>(o.cache, tap);
}

void prepare_run_dir(const TrainOptions& o, const std::string& checkpoint_path) {
    if (fs::exists(checkpoint_path) && !o.resume && !o.force)
        throw Error("run directory " + o.output +
                    " already holds a run; pass {resume} to continue it or {force} to start over");
    if (o.resume && !fs::exists(checkpoint_path)) throw Error("{resume}: " + checkpoint_path + " does not exist");
    boost::system::error_code ec;
    if (o.force && !o.resume)  // a fresh start leaves nothing of the old run behind
        for (const char* f : {"model.h5", "checkpoint.h5", "metrics.csv", "metrics.json", "curves.png", "confusion.csv",
                              "confusion.png"})
            fs::remove(o.output + "/" + f, ec);
    fs::create_directories(o.output, ec);
    if (ec || !fs::is_directory(o.output)) throw Error("cannot create run directory " + o.output + ": " + ec.message());
}

// bf16 only where the CPU has it: emulated bf16 would be slower than f32.
Precision usable_precision(Precision precision, const TrainEvents& events) {
    if (precision != Precision::bf16 || cpu_has_bf16()) return precision;
    events.warning("this CPU has no AVX512-BF16: training in f32 (bf16 would be emulated and slower)");
    return Precision::f32;
}

// The cache rows a run trains and validates on, streamed with bounded memory.
struct TrainData {
    std::shared_ptr<CacheReader> reader;
    std::unique_ptr<BatchStream> train, val;
    size_t classes = 0;
};

TrainData open_data(const TrainOptions& o, const std::string& tap) {
    TrainData d;
    d.reader = open_reader(o, tap);
    d.classes = d.reader->info().classes.size();
    if (d.classes < 2)
        throw Error("cache " + o.cache + " has " + std::to_string(d.classes) + " class; training needs at least 2");
    const std::vector<std::uint8_t>& roles = o.row_roles.empty() ? d.reader->splits() : o.row_roles;
    const auto budget = static_cast<std::size_t>(o.memory_gb * 1024 * 1024 * 1024);
    d.train = std::make_unique<BatchStream>(*d.reader, roles, 0, std::max(o.batch, 1), true, o.seed, budget);
    d.val = std::make_unique<BatchStream>(*d.reader, roles, 1, std::max(o.batch, 64), false, o.seed, budget / 4);
    if (d.train->size() == 0) throw Error("cache " + o.cache + " has no training samples");
    return d;
}

// Source weights where the strategy keeps them, fresh seeded ones elsewhere.
void initialise(Network& net, const BuiltNetwork& built, const TrainOptions& o, Precision precision) {
    WeightMap initial = fresh_weights(built.head.spec, o.seed);
    if (o.strategy != Strategy::scratch)
        for (const auto& [name, value] : built.head.source_weights) initial[name] = value;
    load_weights(net, initial);
    net.set_precision(precision);
    net.set_frozen_statistics(o.bn == BatchNormMode::frozen);
    apply_lr_mult(net, o.lr_mult);
}

// What one run writes, and where.
struct RunFiles {
    std::string checkpoint, model;
    nlohmann::json meta;
    const NetworkSpec& spec;
};

// After each epoch: keep the best model (validation accuracy, ties to the lower loss; the last
// epoch without validation or with KeptEpoch::last), decide on early stopping, and save what the options ask for.
void record_epoch(const EpochMetrics& m, int last, const TrainOptions& o, const RunFiles& files, Network& net,
                  Optimizer& optimizer, BestSoFar& best, TrainSummary& summary, bool has_val, bool past_deadline) {
    const bool writes = o.comm.root();  // data-parallel: the ranks hold the same weights; one writes
    summary.history.push_back(m);
    const bool improved = has_val ? best.improved_by(m.val_accuracy, m.val_loss) : true;
    if (improved) {
        best.accuracy = has_val ? m.val_accuracy : best.accuracy;
        best.loss = has_val ? m.val_loss : best.loss;
        best.epoch = m.epoch;
        best.since = 0;
    } else {
        ++best.since;
    }
    if (improved || o.keep_epoch == KeptEpoch::last) {
        summary.best_epoch = m.epoch;
        if (writes && o.keep != TrainOptions::Keep::nothing)
            save_run_state(
                files.model,
                RunState{
                    RunKind::model, files.meta, files.spec.to_json(), {{"epoch", m.epoch}}, save_weights(net), {}});
    }
    best.early_stopped = o.patience > 0 && has_val && best.since >= o.patience && m.epoch < last;
    const bool final_epoch = m.epoch >= last || best.early_stopped || past_deadline;
    if (writes && (o.checkpoints || final_epoch || o.stop_after_epochs > 0)) {
        if (o.keep == TrainOptions::Keep::model_and_checkpoint)
            save_checkpoint(files.checkpoint, files.meta, net, files.spec, optimizer, best, summary);
        write_metrics(o.output, summary.history);
        draw_curves(o.output + "/curves.png", summary.history);
    }
}

// Rank 0's clock decides, so every rank stops after the same epoch.
bool past_deadline(const TrainOptions& o) {
    if (o.deadline == Clock::time_point::max()) return false;
    std::string late = Clock::now() > o.deadline ? "1" : "";
    o.comm.broadcast(late);
    return !late.empty();
}

// Data-parallel ranks must hold bit-identical weights after every step (same sums, same update);
// checked once per epoch on a hash of the trained values, so a drift is an error, never a silently
// different model.
void check_ranks_agree(Network& net, const Communicator& comm, int epoch) {
    if (!comm.distributed()) return;
    std::uint64_t h = fnv1a64(nullptr, 0);
    for (auto& [name, p] : net.named_params()) {
        if (p->lr_mult <= 0) continue;
        const cv::Mat v = p->value.isContinuous() ? p->value : p->value.clone();
        h = fnv1a64(v.ptr<float>(), v.total() * sizeof(float), h);
    }
    if (!comm.same(h))
        CVTL_INTERNAL("data-parallel ranks hold different weights after epoch " + std::to_string(epoch) +
                      " (the gradient sums differed)");
}

// Trains until the last epoch, an early stop, a test's stop or the deadline. Returns false when a
// test's --stop-after-epochs ended the run early (no final report then).
bool run_epochs(Loop& loop, const TrainOptions& o, const TrainEvents& events, const RunFiles& files, BestSoFar& best,
                TrainSummary& summary) {
    const int last = o.stop_epoch > 0 ? o.stop_epoch : o.epochs;
    for (int epoch = static_cast<int>(summary.history.size()); epoch < last && !best.early_stopped; ++epoch) {
        const EpochMetrics m = train_one_epoch(loop, epoch, o, events);
        check_ranks_agree(loop.net, o.comm, m.epoch);
        const bool late = past_deadline(o);
        record_epoch(m, last, o, files, loop.net, loop.optimizer, best, summary, loop.val.size() > 0, late);
        if (events.epoch_done) events.epoch_done(m);
        if (o.stop_after_epochs > 0 && m.epoch >= o.stop_after_epochs && m.epoch < last) return false;
        if (late && m.epoch < last) {
            summary.cut = true;
            break;
        }
        if (o.keep_going && m.epoch < last && !o.keep_going(m)) {
            summary.abandoned = true;
            break;
        }
    }
    summary.early_stopped = best.early_stopped;
    return true;
}

// The kept model's validation metrics and confusion matrix.
void report_kept_model(Network& net, TrainData& data, const TrainOptions& o, const RunFiles& files,
                       TrainSummary& summary) {
    // Rank 0 wrote model.h5; the others take its weights from rank 0 rather than from a file they
    // might not see.
    if (o.comm.root()) load_weights(net, load_run_state(files.model).weights);
    for (auto& [name, p] : net.named_params()) o.comm.broadcast(p->value.ptr<float>(), p->value.total());
    const EvalResult kept = validation_pass(net, *data.val, data.classes, o.comm);
    const bool has_val = data.val->size() > 0;
    if (has_val && o.comm.root()) write_confusion(o.output, "confusion", kept.confusion, data.reader->info().classes);
    summary.best_val_accuracy = has_val ? kept.accuracy : std::numeric_limits<double>::quiet_NaN();
    summary.best_val_loss = has_val ? kept.loss : std::numeric_limits<double>::quiet_NaN();
}

// Everything a run needs before its first step, from the options alone.
struct PreparedRun {
    TrainData data;
    TrainOptions options;  // defaults resolved
    BuiltNetwork built;
    std::unique_ptr<Network> net;
    nlohmann::json meta;  // what the run's files record about it
};

PreparedRun prepare_run(const TrainOptions& requested, Precision precision, int threads, TrainSummary& summary,
                        const TrainEvents& events) {
    PreparedRun p;
    const CacheInfo info = read_cache_info(requested.cache);
    summary.tap = tap_for(requested, info);
    summary.precision = precision;
    p.data = open_data(requested, summary.tap);
    p.options = resolve_defaults(requested, p.data.train->size());
    const TrainOptions& o = p.options;
    if (events.planned) events.planned(o);
    summary.epochs = o.epochs;
    summary.train_rows = p.data.train->size();
    summary.val_rows = p.data.val->size();
    if (p.data.val->size() == 0 && o.row_roles.empty())
        events.warning("cache " + o.cache +
                       " has no validation split: model.h5 keeps the last epoch and early stopping is off");
    p.built = build_network(o, info, summary.tap, p.data.reader->sample_shape(), static_cast<int>(p.data.classes));
    p.net = std::make_unique<Network>(p.built.head.spec);
    initialise(*p.net, p.built, o, precision);
    summary.trained_parameters = p.net->trainable_values();
    p.meta = run_meta(o, info, p.data.reader->info().classes, p.built.model, !p.built.head.source_weights.empty(),
                      summary.tap, threads, precision);
    p.meta["rows"] = {{"train", p.data.train->size()}, {"val", p.data.val->size()}};
    p.meta["ranks"] = o.comm.size();
    return p;
}

}  // namespace

TrainOptions resolve_defaults(TrainOptions o, std::int64_t train_rows) {
    const TrainDefaults d = defaults_for(o.strategy, o.head);
    if (!o.optimizer.kind) o.optimizer.kind = d.optimizer;
    if (std::isnan(o.optimizer.weight_decay)) o.optimizer.weight_decay = d.weight_decay;
    if (!o.schedule.kind) o.schedule.kind = d.schedule;
    if (o.schedule.base_lr == 0) o.schedule.base_lr = d.lr;
    if (o.batch < 1) throw Error("the batch size must be at least 1, got " + std::to_string(o.batch));
    if (o.steps < 1) throw Error("the step budget must be at least 1, got " + std::to_string(o.steps));
    if (o.epochs == 0) o.epochs = epochs_for_steps(train_rows, o.batch, o.steps);
    if (o.epochs < 1) throw Error("the epoch count must be at least 1, got " + std::to_string(o.epochs));
    if (!(o.schedule.base_lr > 0) || !std::isfinite(o.schedule.base_lr))
        throw Error("the learning rate must be positive and finite");
    if (!(o.optimizer.weight_decay >= 0)) throw Error("the weight decay must not be negative");
    if (o.stop_epoch < 0 || o.stop_epoch > o.epochs)
        throw Error("stop_epoch must be within 0.." + std::to_string(o.epochs));
    return o;
}

TrainSummary run_training(const TrainOptions& requested, const TrainEvents& events) {
    const auto start = Clock::now();
    const Precision precision = usable_precision(requested.precision, events);
    const int threads = resolve_threads(requested.threads);  // the caller's ThreadPolicy sets the pools

    // The cache and the network above its tap; under mpirun a rank that cannot open them fails all.
    TrainSummary summary;
    std::optional<PreparedRun> prepared;
    requested.comm.all_or_none([&] { prepared.emplace(prepare_run(requested, precision, threads, summary, events)); });
    const TrainOptions& o = prepared->options;
    TrainData& data = prepared->data;
    const BuiltNetwork& built = prepared->built;
    Network& net = *prepared->net;
    RunFiles files{o.output + "/checkpoint.h5", o.output + "/model.h5", prepared->meta, built.head.spec};

    // The run directory: fresh, resumed, or refused (by rank 0, for every rank).
    o.comm.all_or_none([&] {
        if (o.comm.root()) prepare_run_dir(o, files.checkpoint);
    });
    Schedule schedule = o.schedule;
    schedule.epochs = o.epochs;
    Optimizer optimizer(o.optimizer, net.named_params());
    BestSoFar best;
    if (o.resume)
        o.comm.all_or_none([&] {
            const RunState saved = load_run_state(files.checkpoint);
            check_resumable(saved, files.meta, built.head.spec, files.checkpoint);
            best = restore_checkpoint(saved, net, optimizer, summary);
        });
    GradientReducer reducer(o.comm, net);
    summary.ranks = o.comm.size();
    summary.allreduce_bytes = reducer.bytes_per_step();
    summary.allreduce_buckets = reducer.buckets();
    Loop loop{net, optimizer, schedule, *data.train, *data.val, data.classes, reducer, o.comm};
    if (!run_epochs(loop, o, events, files, best, summary)) return summary;
    if (o.keep != TrainOptions::Keep::nothing) {
        report_kept_model(net, data, o, files, summary);
    } else {  // no kept model to re-score: the kept epoch's figures as measured
        const bool has_val = data.val->size() > 0 && summary.best_epoch > 0;
        const EpochMetrics* kept = has_val ? &summary.history.at(static_cast<size_t>(summary.best_epoch - 1)) : nullptr;
        summary.best_val_accuracy = kept ? kept->val_accuracy : std::numeric_limits<double>::quiet_NaN();
        summary.best_val_loss = kept ? kept->val_loss : std::numeric_limits<double>::quiet_NaN();
    }
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
}

}  // namespace cvtl
