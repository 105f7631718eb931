#include "pipeline/train/sweep.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/train/kfold.hpp"
#include "pipeline/train/sweep_report.hpp"
#include "pipeline/train/sweep_state.hpp"
#include "pipeline/train/trainer.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"

#include <boost/filesystem.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <set>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;
using Clock = std::chrono::steady_clock;

// What the epoch gate saw when it stopped a training.
struct EpochGate {
    int epoch = 0;
    double best = 0, leader = 0;
};

class Sweep {
public:
    Sweep(const SweepOptions& o, const SweepEvents& e) : o_(o), events_(e), start_(Clock::now()) {}
    SweepSummary run();

private:
    void open_inputs();
    void open_directory();
    nlohmann::json settings() const;
    void save_state() const;
    void run_rung(std::vector<size_t>& active, size_t rung);
    void train_rung_on_ranks(const std::vector<size_t>& active, size_t rung);
    nlohmann::json train_job(size_t trial, int fold);
    void apply_job(const nlohmann::json& result, size_t trial);
    void reset_directory() const;
    void read_saved_state();
    void train_fold(SweepTrial& t, int fold);
    void make_plan();
    std::function<bool(const EpochMetrics&)> epoch_gate(EpochGate& seen) const;
    std::int64_t fold_val_rows() const;
    int automatic_folds() const;
    TrainOptions fold_options(const SweepTrial& t, const std::string& run) const;
    double reserve_seconds() const;
    const SweepTrial* leader() const;
    void report(const std::string& stage, const std::string& trial, int fold) const;
    double seconds_left() const;
    TrainEvents training_events() const;
    SweepExport retrain_and_export(SweepTrial& trial, const std::string& onnx);
    void export_winners();

    SweepOptions o_;
    SweepEvents events_;
    mutable JobProgress current_;  // the last progress reported; trainings report under it
    Clock::time_point start_, deadline_ = Clock::time_point::max();
    CacheInfo info_;
    std::shared_ptr<const SourceModel> source_;
    std::map<std::string, std::shared_ptr<CacheReader>> readers_;
    std::vector<std::uint8_t> splits_;
    std::vector<int> folds_;            // per row, K-fold mode only
    std::int64_t fold_train_rows_ = 0;  // training rows of one fold (for the epoch count and estimates)
    int epochs_ = 0;
    double load_seconds_ = 0;  // loading the source model once; export loads it again and reloads the result
    std::map<std::string, std::vector<SweepFold>> saved_;  // fold results of an interrupted sweep
    std::map<std::string, AbandonedTraining> abandoned_;   // its trainings the epoch gate stopped: notes, time spent
    SweepSummary s_;
    int planned_ = 0, done_ = 0;
};

void Sweep::open_inputs() {
    info_ = read_cache_info(o_.cache);
    std::vector<std::string> taps;
    for (const auto& t : info_.taps) taps.push_back(t.name);
    const ModelFiles files = choose_model({o_.model, o_.weights}, {info_.attributes.value("model_file", ""),
                                                                   info_.attributes.value("model_weights", "")});
    const std::string& model = files.path;
    if (model.empty() || !fs::exists(model))
        throw Error("the sweep needs the source model the cache " + o_.cache + " was made from (" + model +
                    " not found); name it as the model");
    const auto load_start = Clock::now();
    source_ = std::make_shared<const SourceModel>(load_model(model, files.weights));
    load_seconds_ = std::chrono::duration<double>(Clock::now() - load_start).count();
    o_.model = model;
    o_.weights = source_->weights;  // every training and the export read the same two files
    s_.trials.clear();
    cv::dnn::Net net = source_->net;  // a handle on the same network: cv::dnn's queries are not const
    const BlockMap map = map_blocks(net, info_.attributes.at("preprocess").at("size").get<int>(), model);
    for (const auto& c : sweep_candidates(taps, o_.only, sweep_grid(o_.lrs, o_.bn_modes, map)))
        s_.trials.emplace_back().candidate = c;
    if (s_.trials.empty())
        throw Error("cache " + o_.cache + " has no tap a candidate can read (taps: " + tap::list(tap::Style::vgg) +
                    ", or " + tap::list(tap::Style::graph) + ")");
    std::size_t held = 0;
    const auto budget = static_cast<std::size_t>(o_.memory_gb * 1024 * 1024 * 1024);
    for (const auto& t : s_.trials) {
        if (readers_.count(t.candidate.tap)) continue;
        auto reader = std::make_shared<CacheReader>(o_.cache, t.candidate.tap);
        if (held + reader->bytes() <= budget) {  // the rest stream, chunk window by chunk window
            reader->hold_in_memory();
            held += reader->bytes();
        }
        readers_[t.candidate.tap] = reader;
    }
    splits_ = readers_.begin()->second->splits();  // the same for every tap of the cache
    for (auto s : splits_) s_.labelled_rows += s == 0 || s == 1, s_.val_rows += s == 1;
    s_.folds = o_.folds > 0 ? o_.folds : s_.val_rows < kCrossValidationBelow ? automatic_folds() : 1;
    if (s_.folds == 1 && s_.val_rows == 0)
        throw Error("cache " + o_.cache + " has no validation split; cross-validate with 5 folds instead of 1");
    if (s_.folds > 1) {
        folds_ = stratified_folds(readers_.begin()->second->labels(), splits_, s_.folds, o_.seed);
        fold_train_rows_ = s_.labelled_rows - s_.labelled_rows / s_.folds;
        s_.mode = std::to_string(s_.folds) + "-fold cross-validation over the " + std::to_string(s_.labelled_rows) +
                  " labelled samples";
    } else {
        fold_train_rows_ = s_.labelled_rows - s_.val_rows;
        s_.mode = "the cache's validation split (" + std::to_string(s_.val_rows) + " samples)";
    }
    epochs_ = epochs_for_steps(fold_train_rows_, o_.batch, o_.steps);
}

nlohmann::json Sweep::settings() const {
    std::vector<std::string> names;
    for (const auto& t : s_.trials) names.push_back(t.candidate.name);
    return {{"cache_fingerprint", info_.attributes.value("dataset_fingerprint", "")},
            {"model_sha256", source_->sha256},
            {"folds", s_.folds},
            {"seed", o_.seed},
            {"batch", o_.batch},
            {"steps", o_.steps},
            {"epochs", epochs_},
            {"precision", to_string(o_.precision)},
            {"candidates", names},
            {"epoch_gate", o_.epoch_gate}};
}

void Sweep::save_state() const {
    if (!o_.comm.root()) return;  // mpirun: one writer
    write_json_atomically(o_.output + "/sweep.json", state_json(settings(), s_.trials));
}

// A directory holding the same sweep resumes it; another sweep is refused unless --force. Under
// mpirun rank 0 alone clears and creates it, then every rank reads what it holds.
void Sweep::open_directory() {
    o_.comm.all_or_none([&] {
        if (o_.comm.root()) reset_directory();
    });
    o_.comm.all_or_none([&] { read_saved_state(); });
}

void Sweep::reset_directory() const {
    const std::string state = o_.output + "/sweep.json";
    boost::system::error_code ec;
    if (fs::exists(state) && o_.force) {
        fs::remove_all(o_.output + "/runs", ec);
        fs::remove(state, ec);
    }
    fs::create_directories(o_.output + "/runs", ec);
    if (ec) throw Error("cannot create " + o_.output + "/runs: " + ec.message());
}

void Sweep::read_saved_state() {
    SavedSweep saved = read_state(o_.output, settings());
    saved_ = std::move(saved.folds);
    abandoned_ = std::move(saved.abandoned);
}

const SweepTrial* Sweep::leader() const {
    const SweepTrial* best = nullptr;
    for (const auto& t : s_.trials)
        if (!t.folds.empty() && (!best || ranks_before(t, *best))) best = &t;
    return best;
}

// Time kept back for retraining the current leader on every labelled row (its fold time scaled by
// the rows, with a 20% margin) and exporting it (about two model loads).
double Sweep::reserve_seconds() const {
    const SweepTrial* l = leader();
    if (!l || !o_.export_step) return 0;
    const double per_fold = l->seconds / static_cast<double>(l->folds.size());
    const double rows =
        static_cast<double>(s_.labelled_rows) / static_cast<double>(std::max<std::int64_t>(1, fold_train_rows_));
    return per_fold * rows * 1.2 + 2 * load_seconds_ + 1;
}

void Sweep::report(const std::string& stage, const std::string& trial, int fold) const {
    current_ = {stage, done_, planned_, 0, trial.empty() ? "" : trial + " fold " + std::to_string(fold)};
    current_.eta_seconds = seconds_left();
    events_.report(current_);
}

// The plan's total less the time spent, never past the budget: the plan knows each candidate's
// cost, where the count of trainings done would extrapolate from the cheap probes that go first.
double Sweep::seconds_left() const {
    if (s_.plan.total_seconds <= 0) return -1;
    const double spent = std::chrono::duration<double>(Clock::now() - start_).count();
    double left = s_.plan.total_seconds - (spent - s_.plan.calibration_seconds);  // the plan counts from its end
    if (s_.budget_seconds > 0) left = std::min(left, s_.budget_seconds - spent);
    return std::max(0.0, left);
}

// A training's own progress, as the sweep's: a fold can run for many minutes, and a log should
// show it moving (the item gains the training's epoch).
TrainEvents Sweep::training_events() const {
    TrainEvents e;
    e.progress = [this](const JobProgress& p) {
        JobProgress q = current_;
        q.epoch = p.epoch;
        q.eta_seconds = seconds_left();
        q.item += (q.item.empty() ? "" : ", ") + p.stage;
        events_.report(q);
    };
    return e;
}

TrainOptions Sweep::fold_options(const SweepTrial& t, const std::string& run) const {
    const SweepCandidate& c = t.candidate;
    TrainOptions to;
    to.cache = o_.cache;
    to.output = run;
    to.strategy = c.strategy;
    to.head = c.head;
    if (c.head == ClassifierHead::linear) to.tap = c.tap;  // a probe reads the tap it was made for
    to.from_block = c.from_block;
    to.model = o_.model;
    to.weights = o_.weights;
    to.epochs = epochs_;
    to.batch = o_.batch;
    to.threads = o_.threads;
    to.precision = o_.precision;
    to.optimizer.kind = OptimizerKind::adam;
    to.optimizer.weight_decay = 0;
    to.schedule.kind = ScheduleKind::cosine;
    to.schedule.base_lr = c.lr;
    to.bn = c.bn;
    to.seed = o_.seed;
    to.memory_gb = o_.memory_gb;
    to.force = true;
    to.checkpoints = false;
    to.keep = TrainOptions::Keep::nothing;  // a fold keeps its curves; only the winner's retraining writes weights
    to.reader = readers_.at(c.tap);
    to.source = source_;
    return to;
}

void Sweep::train_fold(SweepTrial& t, int fold) {
    const std::string run =
        o_.output + "/runs/" + t.candidate.name + (s_.folds > 1 ? "/fold-" + std::to_string(fold + 1) : "/split");
    if (const auto a = abandoned_.find(t.candidate.name); fold == 0 && a != abandoned_.end()) {
        t.status = TrialStatus::eliminated;
        t.note = a->second.note;
        t.stopped_seconds = a->second.seconds, t.stopped_epochs = a->second.epochs;
        score_trial(t);
        return;
    }
    auto saved = saved_.find(t.candidate.name);
    if (saved != saved_.end())
        for (const auto& f : saved->second)
            if (f.fold == fold && static_cast<int>(f.val_accuracy.size()) == epochs_) {
                t.folds.push_back(f);
                t.trained_parameters = f.trained_parameters;
                t.epochs = epochs_;
                ++s_.resumed;
                score_trial(t);
                return;
            }
    const double reserve = reserve_seconds();
    if (Clock::now() + std::chrono::duration<double>(reserve) >= deadline_) {
        t.status = TrialStatus::skipped;
        t.note = "the time budget ran out before it";
        return;
    }
    // Never start what the plan says cannot finish: a cut training is time spent on nothing.
    const double left = std::chrono::duration<double>(deadline_ - Clock::now()).count() - reserve;
    if (deadline_ != Clock::time_point::max() && t.predicted_fold_seconds > left) {
        t.status = TrialStatus::skipped;
        t.note = "predicted " + std::to_string(static_cast<long>(t.predicted_fold_seconds)) + " s per fold, " +
                 std::to_string(static_cast<long>(std::max(0.0, left))) + " s left in the budget";
        return;
    }
    TrainOptions to = fold_options(t, run);
    if (s_.folds > 1) to.row_roles = fold_roles(folds_, fold);
    auto gate = std::make_shared<EpochGate>();
    if (o_.epoch_gate && fold == 0 && !o_.comm.distributed()) to.keep_going = epoch_gate(*gate);
    to.deadline = deadline_ == Clock::time_point::max()
                      ? deadline_
                      : deadline_ - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(reserve));
    try {
        const TrainSummary ts = run_training(to, training_events());
        ++s_.trainings;
        if (ts.abandoned || ts.cut) {
            t.stopped_seconds += ts.seconds;
            t.stopped_epochs += static_cast<int>(ts.history.size());
            score_trial(t);
        }
        if (ts.abandoned) {
            t.status = TrialStatus::eliminated;
            t.note = kGateNote + std::to_string(gate->epoch) + " of " + std::to_string(epochs_) +
                     ": best validation accuracy " + fixed_digits(gate->best, 4) +
                     ", more than two standard errors below the leader's " + fixed_digits(gate->leader, 4);
            save_state();
            return;
        }
        if (ts.cut) {
            t.status = TrialStatus::cut;
            t.note = "stopped by the time budget after " + std::to_string(ts.history.size()) + " of " +
                     std::to_string(epochs_) + " epochs";
            return;
        }
        SweepFold f{fold, {}, {}, ts.seconds, run, ts.trained_parameters};
        for (const auto& m : ts.history) f.val_accuracy.push_back(m.val_accuracy), f.val_loss.push_back(m.val_loss);
        t.folds.push_back(f);
        t.trained_parameters = ts.trained_parameters;
        t.epochs = ts.epochs;
    } catch (const Error& e) {
        t.status = TrialStatus::failed;
        t.note = e.what();
        events_.warning(t.candidate.name + " failed: " + e.message());
    }
    score_trial(t);
    save_state();
}

// Trains every active candidate up to the rung's fold count, then keeps the best for the next rung.
void Sweep::run_rung(std::vector<size_t>& active, size_t rung) {
    const std::vector<int> counts = rung_fold_counts(s_.folds);
    const std::string stage = "rung " + std::to_string(rung + 1) + "/" + std::to_string(counts.size());
    if (o_.comm.distributed()) {
        train_rung_on_ranks(active, rung);
    } else {
        for (size_t i : active) {
            SweepTrial& t = s_.trials[i];
            for (int f = static_cast<int>(t.folds.size()); f < counts[rung] && t.status == TrialStatus::pending; ++f) {
                report(stage, t.candidate.name, f);
                train_fold(t, f);
                ++done_;
                if (events_.trial_done) events_.trial_done(t);
            }
        }
    }
    std::vector<size_t> next;
    for (size_t i : active)
        if (s_.trials[i].status == TrialStatus::pending) next.push_back(i);
    std::sort(next.begin(), next.end(), [&](size_t a, size_t b) { return ranks_before(s_.trials[a], s_.trials[b]); });
    if (rung + 1 < counts.size()) {
        for (size_t k = promoted(next.size()); k < next.size(); ++k)
            s_.trials[next[k]].status = TrialStatus::eliminated;
        next.resize(promoted(next.size()));
        std::sort(next.begin(), next.end(), [&](size_t a, size_t b) {
            return s_.trials[a].candidate.cost_rank < s_.trials[b].candidate.cost_rank;
        });
    }
    active = next;
}

// One (trial, fold) training on this rank alone, as the record every rank applies: the fold's
// curves (if it was trained), the trial's status afterwards and the trainings it counted.
nlohmann::json Sweep::train_job(size_t trial, int fold) {
    SweepTrial copy = s_.trials[trial];
    const size_t before = copy.folds.size();
    const int trainings = s_.trainings, resumed = s_.resumed;
    train_fold(copy, fold);
    nlohmann::json r = {{"status", to_string(copy.status)},
                        {"note", copy.note},
                        {"trainings", s_.trainings - trainings},
                        {"resumed", s_.resumed - resumed},
                        {"parameters", copy.trained_parameters},
                        {"epochs", copy.epochs},
                        {"stopped_seconds", copy.stopped_seconds - s_.trials[trial].stopped_seconds},
                        {"stopped_epochs", copy.stopped_epochs - s_.trials[trial].stopped_epochs}};
    if (copy.folds.size() > before) r["fold"] = fold_json(copy.folds.back());
    s_.trainings = trainings, s_.resumed = resumed;  // counted when the records are applied
    return r;
}

void Sweep::apply_job(const nlohmann::json& r, size_t trial) {
    SweepTrial& t = s_.trials[trial];
    if (r.contains("fold")) {
        t.folds.push_back(fold_from_json(r.at("fold"), "rank record"));
        std::sort(t.folds.begin(), t.folds.end(),
                  [](const SweepFold& a, const SweepFold& b) { return a.fold < b.fold; });
        t.trained_parameters = r.at("parameters");
        t.epochs = r.at("epochs");
    }
    const TrialStatus status = parse_trial_status(r.at("status").get<std::string>(), "a rank's record");
    if (status != TrialStatus::pending && t.status == TrialStatus::pending) t.status = status, t.note = r.at("note");
    s_.trainings += r.at("trainings").get<int>();
    s_.resumed += r.at("resumed").get<int>();
    t.stopped_seconds += r.at("stopped_seconds").get<double>();
    t.stopped_epochs += r.at("stopped_epochs").get<int>();
    score_trial(t);
    ++done_;
    if (events_.trial_done) events_.trial_done(t);
}

// mpirun: job j of the rung goes to rank j mod N; every rank then applies every record in job order.
void Sweep::train_rung_on_ranks(const std::vector<size_t>& active, size_t rung) {
    const std::vector<int> counts = rung_fold_counts(s_.folds);
    std::vector<std::pair<size_t, int>> jobs;
    for (size_t i : active)
        for (int f = static_cast<int>(s_.trials[i].folds.size());
             f < counts[rung] && s_.trials[i].status == TrialStatus::pending; ++f)
            jobs.emplace_back(i, f);
    nlohmann::json mine = nlohmann::json::object();
    for (size_t j = static_cast<size_t>(o_.comm.rank()); j < jobs.size(); j += static_cast<size_t>(o_.comm.size())) {
        report("rung " + std::to_string(rung + 1) + "/" + std::to_string(counts.size()),
               s_.trials[jobs[j].first].candidate.name, jobs[j].second);
        mine[std::to_string(j)] = train_job(jobs[j].first, jobs[j].second);
    }
    nlohmann::json records = nlohmann::json::object();
    for (const std::string& text : o_.comm.gather_strings(mine.dump())) {
        const nlohmann::json theirs = nlohmann::json::parse(text);
        for (const auto& [job, r] : theirs.items()) records[job] = r;
    }
    for (size_t j = 0; j < jobs.size(); ++j) apply_job(records.at(std::to_string(j)), jobs[j].first);
    save_state();
}

SweepExport Sweep::retrain_and_export(SweepTrial& w, const std::string& onnx) {
    report("retraining " + w.candidate.name + " on all labelled samples", w.candidate.name, 0);
    TrainOptions to = fold_options(w, o_.output + "/runs/" + w.candidate.name + "/all");
    to.row_roles = all_labelled_roles(splits_);
    to.stop_epoch = w.chosen_epoch;
    to.keep = TrainOptions::Keep::model;  // for the export; no checkpoint: a killed sweep retrains anyway
    const TrainSummary ts = run_training(to, training_events());
    ++done_;
    report("exporting " + w.candidate.name, w.candidate.name, 0);
    const SweepExported es = o_.export_step(to.output, onnx, o_.model, o_.weights);
    return {w.candidate.name, w.candidate.family, to.output, es.onnx, es.sidecar, es.difference, ts.seconds};
}

void Sweep::export_winners() {
    std::stable_sort(s_.trials.begin(), s_.trials.end(), ranks_before);
    if (s_.trials.empty() || s_.trials[0].folds.empty())
        throw Error("no candidate could be trained within the budget; give the sweep more time");
    s_.winner = 0;
    if (!o_.export_step) return;  // the caller wants the ranking only
    const SweepExport best = retrain_and_export(s_.trials[0], o_.output + "/best.onnx");
    s_.exports.push_back(best);
    s_.final_run = best.run;
    s_.onnx = best.onnx;
    s_.sidecar = best.sidecar;
    s_.export_difference = best.difference;
    s_.final_seconds = best.seconds;
    if (!o_.export_families) return;
    std::set<std::string> done{s_.trials[0].candidate.family};
    for (auto& t : s_.trials)
        if (!t.folds.empty() && done.insert(t.candidate.family).second)
            s_.exports.push_back(retrain_and_export(t, o_.output + "/best-" + t.candidate.family + ".onnx"));
}

// Auto mode's fold count fits the data: every class needs a labelled sample in each fold, so the
// smallest class bounds it; below 2 folds the cache's split is the only choice.
int Sweep::automatic_folds() const {
    std::map<std::int32_t, std::int64_t> per_class;
    const auto& labels = readers_.begin()->second->labels();
    for (size_t i = 0; i < labels.size() && i < splits_.size(); ++i)
        if (splits_[i] == 0 || splits_[i] == 1) ++per_class[labels[i]];
    std::int64_t smallest = kDefaultFolds;
    std::int32_t which = 0;
    for (const auto& [label, n] : per_class)
        if (n < smallest) smallest = n, which = label;
    if (smallest >= kDefaultFolds) return kDefaultFolds;
    const std::string cls =
        "class " + std::to_string(which) + " has only " + std::to_string(smallest) + " labelled samples: ";
    if (smallest >= 2) {
        if (o_.comm.root())
            events_.warning(cls + std::to_string(smallest) + "-fold cross-validation instead of " +
                            std::to_string(kDefaultFolds));
        return static_cast<int>(smallest);
    }
    if (o_.comm.root()) events_.warning(cls + "scoring on the cache's validation split instead of cross-validating");
    return 1;
}

// Successive halving over epochs (the first fold, one process): at a quarter and at half of its
// epochs, a training whose best validation accuracy so far is more than two standard errors (of an
// accuracy on this fold's validation rows) below the current leader's score stops there, so a
// fine-tuning run clearly behind the probes costs a quarter of its fold. Under mpirun the leader
// depends on which rank finished first, so the gate is off there (ranks must decide alike).
std::function<bool(const EpochMetrics&)> Sweep::epoch_gate(EpochGate& seen) const {
    const SweepTrial* l = leader();
    if (!l || epochs_ < 4) return {};
    const double leader_score = l->score;
    const double n = static_cast<double>(std::max<std::int64_t>(1, fold_val_rows()));
    const double bar = leader_score - 2 * std::sqrt(leader_score * (1 - leader_score) / n);
    const int quarter = epochs_ / 4, half = epochs_ / 2;
    auto best = std::make_shared<double>(0.0);
    return [=, &seen](const EpochMetrics& m) {
        if (std::isfinite(m.val_accuracy)) *best = std::max(*best, m.val_accuracy);
        if ((m.epoch != quarter && m.epoch != half) || *best >= bar) return true;
        seen = {m.epoch, *best, leader_score};
        return false;
    };
}

std::int64_t Sweep::fold_val_rows() const { return s_.folds > 1 ? s_.labelled_rows / s_.folds : s_.val_rows; }

// Measures one fold's cost per candidate family (learning rates share it) on rank 0, shares it with
// every rank (they decide alike what to skip), and reports the plan.
void Sweep::make_plan() {
    const auto start = Clock::now();
    std::map<std::string, FoldCost> costs;
    std::vector<float> seconds;
    for (SweepTrial& t : s_.trials) {
        if (o_.comm.root() && !costs.count(t.candidate.base)) {
            try {
                const TrainOptions to = fold_options(t, o_.output + "/calibration/" + t.candidate.base);
                if (costs.empty()) measure_fold_cost(to, splits_);  // the process's first training pays its start-up
                costs[t.candidate.base] = measure_fold_cost(to, splits_);
            } catch (const Error&) {
                costs[t.candidate.base] = {};  // unknown: it fails again, and is reported, when it trains
            }
        }
        seconds.push_back(o_.comm.root() ? static_cast<float>(predict_fold_seconds(costs[t.candidate.base], epochs_,
                                                                                   fold_train_rows_, fold_val_rows()))
                                         : 0.f);
    }
    if (o_.comm.root()) {
        boost::system::error_code ec;
        fs::remove_all(o_.output + "/calibration", ec);
    }
    o_.comm.broadcast(seconds.data(), seconds.size());
    SweepPlan& p = s_.plan;
    p = {};
    double sum = 0;
    for (size_t i = 0; i < s_.trials.size(); ++i) {
        s_.trials[i].predicted_fold_seconds = seconds[i];
        p.candidates.push_back({s_.trials[i].candidate.name, seconds[i]});
        sum += seconds[i];
    }
    const std::vector<int> counts = rung_fold_counts(s_.folds);
    size_t n = s_.trials.size();
    const double mean = n ? sum / static_cast<double>(n) : 0.0;
    p.rung_trainings.push_back(static_cast<int>(n) * counts[0]);
    p.first_rung_seconds = sum * counts[0];
    p.total_seconds = p.first_rung_seconds;
    for (size_t r = 1; r < counts.size(); ++r) {
        p.rung_trainings.push_back(static_cast<int>((n = promoted(n))) * (counts[r] - counts[r - 1]));
        p.total_seconds += p.rung_trainings.back() * mean;
    }
    const double all_rows =
        static_cast<double>(s_.labelled_rows) / static_cast<double>(std::max<std::int64_t>(1, fold_train_rows_));
    if (o_.export_step)
        p.total_seconds += mean * all_rows + 2 * load_seconds_;  // retraining the winner, then its export
    p.calibration_seconds = std::chrono::duration<double>(Clock::now() - start).count();
    p.budget_seconds = s_.budget_seconds;
    if (events_.planned && o_.comm.root()) events_.planned(p);
}

SweepSummary Sweep::run() {
    if (o_.budget_minutes < 0 || !std::isfinite(o_.budget_minutes))
        throw Error("the time budget must be a non-negative number of minutes");
    if (o_.budget_minutes > 0)
        deadline_ =
            start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.budget_minutes * 60));
    s_.budget_seconds = o_.budget_minutes * 60;
    if (o_.folds < 0) throw Error("the fold count must be 0 (auto), 1 (the cache's split) or at least 2");
    o_.comm.all_or_none([&] { open_inputs(); });
    open_directory();
    make_plan();
    const std::vector<int> counts = rung_fold_counts(s_.folds);
    size_t n = s_.trials.size();
    planned_ = static_cast<int>(n) * counts[0] + (o_.export_step ? 1 + (o_.export_families ? 3 : 0) : 0);
    for (size_t r = 1; r < counts.size(); ++r)
        planned_ += static_cast<int>((n = promoted(n))) * (counts[r] - counts[r - 1]);

    std::vector<size_t> active(s_.trials.size());
    for (size_t i = 0; i < active.size(); ++i) active[i] = i;
    for (size_t r = 0; r < counts.size(); ++r) run_rung(active, r);
    for (size_t i : active) s_.trials[i].status = TrialStatus::complete;
    // mpirun: rank 0 retrains, exports and reports; the others wait for its outcome.
    o_.comm.all_or_none([&] {
        if (!o_.comm.root()) return;
        export_winners();
        s_.seconds = std::chrono::duration<double>(Clock::now() - start_).count();
        s_.directory_bytes = directory_bytes(o_.output);
        write_sweep_reports(s_, o_.output);
    });
    return s_;
}

}  // namespace

SweepSummary run_sweep(const SweepOptions& options, const SweepEvents& events) { return Sweep(options, events).run(); }

}  // namespace cvtl
