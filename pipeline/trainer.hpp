#pragma once
// cvtl train: retrains the upper part of a VGG network from an activation cache.
#include "pipeline/optimizer.hpp"
#include "pipeline/run_report.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace cvtl {

struct TrainOptions {
    std::string cache;
    std::string output;                 // run directory
    std::string strategy = "classifier";  // classifier | finetune | scratch
    std::string head = "source";        // classifier strategy: source (hidden fc layers from the model) | linear
    std::string tap;                    // linear head only: tap to probe (default fc7 if cached, else pool5)
    int from_block = 5;                 // finetune: train blocks K..5 + classifier, reading pool{K-1}
    std::string model;                  // source model; default: the file the cache was made from
    int epochs = 10;
    int batch = 32;
    int threads = 0;                    // 0: every core
    std::string precision = "f32";      // f32 | bf16 (products in bf16 on CPUs with AVX512-BF16; else f32 + warning)
    OptimizerConfig optimizer;
    Schedule schedule;                  // base_lr, kind, warmup; epochs is taken from `epochs`
    std::map<std::string, double> lr_mult;  // block1..block5, classifier -> multiplier (0 freezes)
    int patience = 0;                   // early stopping: epochs without a better val accuracy; 0 off
    float dropout = 0.5f;
    std::uint64_t seed = 0;
    bool resume = false;                // continue the run directory's checkpoint
    bool force = false;                 // start over in an existing run directory
    double memory_gb = 2.0;             // budget for cached activations held in memory
    int stop_after_epochs = 0;          // tests: return after this many epochs, as if interrupted
};

struct TrainSummary {
    std::vector<EpochMetrics> history;
    int best_epoch = 0;                 // 1-based; the epoch whose weights model.h5 holds
    double best_val_accuracy = 0;
    std::int64_t trained_parameters = 0;
    std::int64_t train_rows = 0, val_rows = 0;
    std::string tap;
    std::string precision;              // what the products ran in: f32 or bf16
    double seconds = 0;
    bool early_stopped = false;
    bool resumed = false;
};

struct TrainEvents {
    std::function<void(const std::string&)> warn;
    std::function<void(const EpochMetrics&)> epoch_done;
    std::function<void(int epoch, std::int64_t done, std::int64_t total)> progress;  // images this epoch
};

// Writes OUTPUT/model.h5 (best validation weights), checkpoint.h5 (every epoch; --resume continues
// from it), metrics.csv/json, curves.png, confusion.csv/png. Throws cvtl::Error; on divergence
// (NaN/inf loss) stops with a message suggesting a lower learning rate, keeping what was saved.
TrainSummary run_training(const TrainOptions& options, const TrainEvents& events);

}  // namespace cvtl
