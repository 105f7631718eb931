#pragma once
#include "pipeline/core/events.hpp"
// cvtl train: retrains the upper part of a VGG network from an activation cache.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/engine/layers/precision.hpp"
#include "pipeline/engine/optimizer.hpp"
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/run_report.hpp"
#include "pipeline/train/batch_norm_mode.hpp"
#include "pipeline/train/kept_epoch.hpp"
#include "pipeline/train/strategy.hpp"
#include "pipeline/train/train_defaults.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cvtl {

class CacheReader;
struct SourceModel;

struct TrainOptions {
    std::string cache;
    std::string output;  // run directory
    Strategy strategy = Strategy::classifier;
    ClassifierHead head = ClassifierHead::source;  // the classifier strategy's
    std::string tap;                               // linear head only: tap to probe (default fc7 if cached, else pool5)
    int from_block = 5;                            // finetune: train blocks K..5 + classifier, reading pool{K-1}
    std::string model;                             // source model; default: the file the cache was made from
    std::string weights;        // Caffe weights; default: the cache's when `model` is too, else next to `model`
    int epochs = 0;             // 0: about `steps` optimizer steps (epochs_for_steps)
    int steps = kDefaultSteps;  // the step budget behind the automatic epoch count
    int batch = 32;
    int threads = 0;                       // 0: every core
    Precision precision = Precision::f32;  // bf16: products in bf16 on CPUs with AVX512-BF16; else f32 + warning
    OptimizerConfig optimizer = unset_optimizer();  // no kind / weight_decay NaN: the strategy's default
    Schedule schedule = unset_schedule();           // no kind / base_lr 0: the strategy's default
    std::map<std::string, double> lr_mult;          // block1..block5, classifier -> multiplier (0 freezes)
    int patience = 0;                               // early stopping: epochs without a better val accuracy; 0 off
    float dropout = 0.5f;
    BatchNormMode bn = BatchNormMode::train;  // the trained batch norm layers' statistics
    KeptEpoch keep_epoch = KeptEpoch::last;   // the epoch model.h5 holds (docs/defaults.md: why last)
    std::uint64_t seed = 0;
    bool resume = false;        // continue the run directory's checkpoint
    bool force = false;         // start over in an existing run directory
    double memory_gb = 2.0;     // budget for cached activations held in memory
    int stop_after_epochs = 0;  // tests: return after this many epochs, as if interrupted

    // For the sweep. `row_roles` (one entry per cache row: 0 train, 1 validation, anything else
    // unused) replaces the cache's recorded split, for cross-validation folds and for retraining on
    // all labelled rows. `stop_epoch` ends training after that epoch while the schedule still spans
    // `epochs`, to retrain exactly the trajectory cross-validation scored. `checkpoints` false
    // writes checkpoint.h5 and the plots once at the end instead of every epoch. `reader`, when it
    // reads the run's tap, is used instead of opening the cache again, and `source`, when it is the
    // model the cache was made from, instead of loading it again. Past `deadline` the run stops
    // after the current epoch and reports itself cut.
    // `keep`: what of the weights the run writes besides its curves and metrics. A sweep's folds keep
    // nothing (their weights are never used: the winner is retrained), its retraining keeps only
    // model.h5 (the checkpoint's optimizer moments are twice the model again); neither resumes.
    enum class Keep { model_and_checkpoint, model, nothing };
    std::vector<std::uint8_t> row_roles;
    int stop_epoch = 0;
    bool checkpoints = true;
    Keep keep = Keep::model_and_checkpoint;
    // The sweep's early elimination: asked after each epoch whether the run is still worth its time;
    // false ends it there and the summary says `abandoned`.
    std::function<bool(const EpochMetrics&)> keep_going;
    std::shared_ptr<CacheReader> reader;
    std::shared_ptr<const SourceModel> source;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

    // Data-parallel training (mpirun): every rank runs this with the same options; each trains on
    // its slice of every global batch (batch_slice.hpp), gradients are summed across ranks
    // (gradient_reducer.hpp) and every rank takes the same optimizer step. Rank 0 alone writes the
    // run directory; with {resume} every rank reads its checkpoint (a shared filesystem).
    Communicator comm;
};

struct TrainSummary {
    std::vector<EpochMetrics> history;
    int best_epoch = 0;  // 1-based; the epoch whose weights model.h5 holds (the last with KeptEpoch::last)
    int epochs = 0;      // the resolved epoch count
    double best_val_accuracy = 0;
    double best_val_loss = 0;
    std::int64_t trained_parameters = 0;
    std::int64_t train_rows = 0, val_rows = 0;
    std::string tap;
    Precision precision = Precision::f32;  // what the products ran in (f32 where the CPU lacks bf16)
    double seconds = 0;
    bool early_stopped = false;
    bool resumed = false;
    bool cut = false;                   // stopped at the deadline before its last epoch
    bool abandoned = false;             // stopped because keep_going said so
    int ranks = 1;                      // processes that trained (data-parallel)
    std::uint64_t allreduce_bytes = 0;  // gradient bytes each rank sends into the sum per step
    std::size_t allreduce_buckets = 0;
};

// Warnings and progress (stage "epoch E/N", images this epoch) as every job reports them, plus
// training's own milestones.
struct TrainEvents : Events {
    std::function<void(const TrainOptions& resolved)> planned;  // defaults filled in, before epoch 1
    std::function<void(const EpochMetrics&)> epoch_done;
};

// Fills the strategy's defaults into every option left unset (and the epoch count from the step
// budget, given the training rows). Throws cvtl::Error for values out of range.
TrainOptions resolve_defaults(TrainOptions options, std::int64_t train_rows);

// Writes OUTPUT/model.h5 (best validation weights: the highest validation accuracy, ties going to
// the lower validation loss, never simply to the earlier epoch; or the last epoch's, as
// options.keep_epoch says), checkpoint.h5 (every epoch; --resume continues
// from it), metrics.csv/json, curves.png, confusion.csv/png. Throws cvtl::Error; on divergence
// (NaN/inf loss) stops with a message suggesting a lower learning rate, keeping what was saved.
TrainSummary run_training(const TrainOptions& options, const TrainEvents& events);

}  // namespace cvtl
