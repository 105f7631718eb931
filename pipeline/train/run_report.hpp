#pragma once
// What a training run leaves for people: metrics.csv/json, curves.png, confusion matrix CSV/PNG.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace cvtl {

struct EpochMetrics {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;  // NaN when there is no validation split
    double learning_rate = 0;               // at the end of the epoch
    double seconds = 0;
    double images_per_second = 0;
    // Where the training steps' time went (this process; the rest of `seconds` is reading batches
    // and validation): forward and backward, waiting for the gradient sums of a data-parallel run
    // (0 in one process), and the optimizer.
    double compute_seconds = 0, reduce_seconds = 0, optimizer_seconds = 0;

    nlohmann::json to_json() const;
    static EpochMetrics from_json(const nlohmann::json& j);
};

void write_metrics(const std::string& run_dir, const std::vector<EpochMetrics>& history);

// Loss and accuracy per epoch, train and validation, as two line charts side by side.
void draw_curves(const std::string& png_path, const std::vector<EpochMetrics>& history);

// counts[true][predicted]
using Confusion = std::vector<std::vector<long long>>;
// STEM.csv and STEM.png (a heatmap: counts, shaded by their share of the true class).
void write_confusion(const std::string& run_dir, const std::string& stem, const Confusion& counts,
                     const std::vector<std::string>& classes);

}  // namespace cvtl
