#include "pipeline/trainer.hpp"

#include "pipeline/batch_stream.hpp"
#include "pipeline/cache_reader.hpp"
#include "pipeline/run_state.hpp"
#include "plugin/error.hpp"
#include "plugin/thread_policy.hpp"
#include "plugin/head_builder.hpp"
#include "plugin/layers/dropout.hpp"
#include "plugin/layers/onednn_context.hpp"
#include "plugin/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"

#include <cvtl/version.hpp>

#include <boost/filesystem.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <thread>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;

std::string tap_for(const TrainOptions& o, const CacheInfo& info) {
    if (o.strategy == "classifier") {
        if (o.head == "source") {
            if (!o.tap.empty() && o.tap != "pool5") throw Error("--tap applies to --head linear; the source classifier reads pool5");
            return "pool5";
        }
        if (o.head != "linear") throw Error("unknown --head '" + o.head + "' (expected source or linear)");
        if (!o.tap.empty()) return o.tap;
        for (const auto& t : info.taps)
            if (t.name == "fc7") return "fc7";
        return "pool5";
    }
    if (!o.tap.empty()) throw Error("--tap applies to --strategy classifier --head linear only");
    if (o.strategy == "finetune") {
        if (o.from_block < 1 || o.from_block > 5) throw Error("--from-block must be 1..5, got " + std::to_string(o.from_block));
        return o.from_block == 1 ? "input" : "pool" + std::to_string(o.from_block - 1);
    }
    if (o.strategy == "scratch") return "input";
    throw Error("unknown --strategy '" + o.strategy + "' (expected classifier, finetune or scratch)");
}

// The source model, verified to be the one the cache was made from.
SourceModel source_model(const TrainOptions& o, const CacheInfo& info) {
    const std::string recorded = info.attributes.value("model_file", "");
    const std::string path = o.model.empty() ? recorded : o.model;
    if (path.empty() || !fs::exists(path))
        throw Error("strategy " + o.strategy + " needs the source model the cache was made from (" + recorded +
                    " not found); pass --model MODEL");
    SourceModel model = load_model(path);
    const std::string expected = info.attributes.value("model_sha256", "");
    if (model.sha256 != expected)
        throw Error("cache " + info.path + " was made from another model (sha256 " + expected.substr(0, 12) + "..., " + recorded + "), not " +
                    path + " (sha256 " + model.sha256.substr(0, 12) + "...); pass the model the cache was made from");
    return model;
}

struct EvalResult {
    double loss = std::numeric_limits<double>::quiet_NaN();
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    Confusion confusion;
};

EvalResult evaluate(Network& net, BatchStream& stream, size_t classes) {
    EvalResult r;
    r.confusion.assign(classes, std::vector<long long>(classes, 0));
    if (stream.size() == 0) return r;
    stream.start_epoch(0);
    Batch batch;
    double loss = 0;
    long long correct = 0, seen = 0;
    cv::Mat diff;
    while (stream.next(batch)) {
        const cv::Mat& logits = net.forward(batch.data, false);
        loss += softmax_cross_entropy(logits, batch.labels, diff) * static_cast<double>(batch.labels.size());
        for (int i = 0; i < logits.rows; ++i) {
            cv::Point best;
            cv::minMaxLoc(logits.row(i), nullptr, nullptr, nullptr, &best);
            correct += best.x == batch.labels[static_cast<size_t>(i)];
            ++r.confusion[static_cast<size_t>(batch.labels[static_cast<size_t>(i)])][static_cast<size_t>(best.x)];
        }
        seen += static_cast<long long>(batch.labels.size());
    }
    r.loss = loss / static_cast<double>(seen);
    r.accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    return r;
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
        if (!found) throw Error("--lr-mult names " + block + ", which this network does not train (blocks: block1..block5, classifier)");
        if (m < 0) throw Error("--lr-mult " + block + " must not be negative");
    }
    for (auto& e : net.entries()) {
        auto it = mult.find(e.spec.block);
        for (Param* p : e.layer->params()) p->lr_mult = it == mult.end() ? 1.0f : static_cast<float>(it->second);
    }
}

}  // namespace

TrainSummary run_training(const TrainOptions& o, const TrainEvents& events) {
    if (o.epochs < 1) throw Error("--epochs must be at least 1");
    if (o.schedule.base_lr <= 0) throw Error("--lr must be positive");
    const auto start = Clock::now();
    Precision precision = parse_precision(o.precision);
    if (precision == Precision::bf16 && !cpu_has_bf16()) {
        if (events.warn) events.warn("this CPU has no AVX512-BF16: training in f32 (bf16 would be emulated and slower)");
        precision = Precision::f32;
    }
    const int threads = apply_thread_policy(o.threads);

    // The cache and the network above its tap.
    CacheInfo info = read_cache_info(o.cache);
    TrainSummary summary;
    summary.tap = tap_for(o, info);
    summary.precision = precision_name(precision);
    CacheReader reader(o.cache, summary.tap);
    const auto classes = reader.info().classes.size();
    if (classes < 2) throw Error("cache " + o.cache + " has " + std::to_string(classes) + " class; training needs at least 2");

    const nlohmann::json preprocess = info.attributes.at("preprocess");
    Head head;
    std::string model_file;
    if (o.strategy == "classifier" && o.head == "linear") {
        head = build_linear_probe(summary.tap, reader.sample_shape(), static_cast<int>(classes));
        model_file = o.model.empty() ? info.attributes.value("model_file", "") : o.model;  // for export's frozen part
    } else {
        SourceModel model = source_model(o, info);
        model_file = model.path;
        BlockMap map = map_vgg_blocks(model.net, preprocess.at("size").get<int>(), model.path);
        if (map.tap(summary.tap).shape != reader.sample_shape())
            throw Error("cache tap " + summary.tap + " does not have the model's shape at this input size");
        HeadOptions head_options;
        head_options.from_tap = summary.tap;
        head_options.classes = static_cast<int>(classes);
        head_options.dropout = o.dropout;
        head_options.seed = o.seed;
        head = build_head(model.net, map, head_options);
    }
    Network net(head.spec);
    WeightMap initial = fresh_weights(head.spec, o.seed);
    if (o.strategy != "scratch")
        for (const auto& [name, value] : head.source_weights) initial[name] = value;
    load_weights(net, initial);
    net.set_precision(precision);
    apply_lr_mult(net, o.lr_mult);
    summary.trained_parameters = net.trainable_values();

    nlohmann::json meta = {{"strategy", o.strategy}, {"head", o.head}, {"tap", summary.tap}, {"from_block", o.from_block},
                           {"classes", reader.info().classes}, {"preprocess", preprocess},
                           {"source_sha256", info.attributes.value("model_sha256", "")}, {"source_model", model_file},
                           {"cache", o.cache}, {"cache_fingerprint", info.attributes.value("dataset_fingerprint", "")},
                           {"cvtl_version", kVersion}, {"source_weights", !head.source_weights.empty() && o.strategy != "scratch"},
                           {"options", {{"epochs", o.epochs}, {"batch", o.batch}, {"optimizer", o.optimizer.kind},
                                        {"lr", o.schedule.base_lr}, {"schedule", o.schedule.kind}, {"weight_decay", o.optimizer.weight_decay},
                                        {"momentum", o.optimizer.momentum}, {"dropout", o.dropout}, {"seed", o.seed}, {"threads", threads},
                                        {"precision", precision_name(precision)}}}};

    // The run directory: fresh, resumed, or refused.
    const std::string checkpoint_path = o.output + "/checkpoint.h5", model_path = o.output + "/model.h5";
    if (fs::exists(checkpoint_path) && !o.resume && !o.force)
        throw Error("run directory " + o.output + " already holds a run; pass --resume to continue it or --force to start over");
    if (o.resume && !fs::exists(checkpoint_path)) throw Error("--resume: " + checkpoint_path + " does not exist");
    boost::system::error_code ec;
    fs::create_directories(o.output, ec);
    if (ec || !fs::is_directory(o.output)) throw Error("cannot create run directory " + o.output + ": " + ec.message());

    Schedule schedule = o.schedule;
    schedule.epochs = o.epochs;
    Optimizer optimizer(o.optimizer, net.named_params());
    int first_epoch = 0;
    double best = -1;
    int since_best = 0;
    if (o.resume) {
        RunState saved = load_run_state(checkpoint_path);
        for (const char* key : {"strategy", "tap", "source_sha256", "cache_fingerprint", "classes"})
            if (saved.meta.at(key) != meta.at(key))
                throw Error("--resume: " + checkpoint_path + " was made with another " + key + " (" + saved.meta.at(key).dump() + ")");
        if (saved.spec != head.spec.to_json()) throw Error("--resume: " + checkpoint_path + " holds another network (options changed?)");
        if (saved.meta.at("options").at("epochs") != o.epochs)
            throw Error("--resume: the run was started with --epochs " + saved.meta.at("options").at("epochs").dump() + "; resume with the same value");
        const std::string saved_precision = saved.meta.at("options").value("precision", "f32");
        if (saved_precision != precision_name(precision))
            throw Error("--resume: the run was started with --precision " + saved_precision + "; resume with the same value");
        load_weights(net, saved.weights);
        optimizer.load_state(saved.optimizer);
        optimizer.set_steps(saved.progress.at("steps"));
        restore_dropout_calls(net, saved.progress.at("dropout_calls"));
        first_epoch = saved.progress.at("epoch");
        best = saved.progress.at("best_val_accuracy");
        summary.best_epoch = saved.progress.at("best_epoch");
        since_best = saved.progress.at("since_best");
        for (const auto& m : saved.progress.at("history")) summary.history.push_back(EpochMetrics::from_json(m));
        summary.resumed = true;
    }

    const auto budget = static_cast<std::size_t>(o.memory_gb * 1024 * 1024 * 1024);
    BatchStream train(reader, 0, o.batch, true, o.seed, budget);
    BatchStream val(reader, 1, std::max(o.batch, 64), false, o.seed, budget / 4);
    summary.train_rows = train.size();
    summary.val_rows = val.size();
    if (train.size() == 0) throw Error("cache " + o.cache + " has no training samples");
    if (val.size() == 0 && events.warn)
        events.warn("cache " + o.cache + " has no validation split: model.h5 keeps the last epoch and early stopping is off");

    const double steps_per_epoch = std::ceil(static_cast<double>(train.size()) / o.batch);
    Batch batch;
    cv::Mat diff;
    for (int epoch = first_epoch; epoch < o.epochs; ++epoch) {
        const auto epoch_start = Clock::now();
        train.start_epoch(epoch);
        double loss_sum = 0, lr = 0;
        long long correct = 0, seen = 0, step = 0;
        while (train.next(batch)) {
            lr = schedule.at(epoch + static_cast<double>(step) / steps_per_epoch);
            const cv::Mat& logits = net.forward(batch.data, true);
            const double loss = softmax_cross_entropy(logits, batch.labels, diff);
            if (!std::isfinite(loss))
                throw Error("training diverged at epoch " + std::to_string(epoch + 1) + " (loss " + std::to_string(loss) + " at learning rate " +
                            std::to_string(lr) + "); try a lower --lr. " + o.output + " keeps the last good epoch");
            for (int i = 0; i < logits.rows; ++i) {
                cv::Point argmax;
                cv::minMaxLoc(logits.row(i), nullptr, nullptr, nullptr, &argmax);
                correct += argmax.x == batch.labels[static_cast<size_t>(i)];
            }
            net.backward(diff);
            optimizer.step(lr);
            const auto n = static_cast<long long>(batch.labels.size());
            loss_sum += loss * static_cast<double>(n);
            seen += n;
            ++step;
            if (events.progress) events.progress(epoch + 1, seen, train.size());
        }
        EpochMetrics m;
        m.epoch = epoch + 1;
        m.train_loss = loss_sum / static_cast<double>(seen);
        m.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
        m.learning_rate = lr;
        const double train_seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        m.images_per_second = static_cast<double>(seen) / train_seconds;
        const EvalResult v = evaluate(net, val, classes);
        m.val_loss = v.loss;
        m.val_accuracy = v.accuracy;
        m.seconds = std::chrono::duration<double>(Clock::now() - epoch_start).count();
        summary.history.push_back(m);

        // Best model: highest validation accuracy (the last epoch when there is no validation split).
        const double score = val.size() ? v.accuracy : static_cast<double>(epoch);
        if (score > best) {
            best = score;
            summary.best_epoch = m.epoch;
            since_best = 0;
            RunState model_state{"model", meta, head.spec.to_json(), {{"epoch", m.epoch}}, save_weights(net), {}};
            save_run_state(model_path, model_state);
        } else {
            ++since_best;
        }
        nlohmann::json history = nlohmann::json::array();
        for (const auto& h : summary.history) history.push_back(h.to_json());
        RunState checkpoint{"checkpoint", meta, head.spec.to_json(),
                            {{"epoch", m.epoch}, {"steps", optimizer.steps()}, {"dropout_calls", dropout_calls(net)},
                             {"best_val_accuracy", best}, {"best_epoch", summary.best_epoch}, {"since_best", since_best}, {"history", history}},
                            save_weights(net), optimizer.state()};
        save_run_state(checkpoint_path, checkpoint);
        write_metrics(o.output, summary.history);
        draw_curves(o.output + "/curves.png", summary.history);
        if (events.epoch_done) events.epoch_done(m);

        if (o.stop_after_epochs > 0 && m.epoch >= o.stop_after_epochs && m.epoch < o.epochs) return summary;
        if (o.patience > 0 && val.size() > 0 && since_best >= o.patience) {
            summary.early_stopped = true;
            break;
        }
    }

    // The confusion matrix of the kept model on the validation split.
    load_weights(net, load_run_state(model_path).weights);
    const EvalResult kept = evaluate(net, val, classes);
    if (val.size() > 0) write_confusion(o.output, "confusion", kept.confusion, reader.info().classes);
    summary.best_val_accuracy = val.size() ? kept.accuracy : std::numeric_limits<double>::quiet_NaN();
    summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return summary;
}

}  // namespace cvtl
