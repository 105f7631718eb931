#pragma once
// The sweep's plan: what each candidate's fold will cost, measured before any candidate trains, so
// the sweep can print its plan and never start a training that cannot finish within the budget.
//
// The cost model of one fold: setup (building the network, copying the source weights) plus, per
// epoch, the training rows at the measured seconds per training row and the validation rows at
// the measured seconds per validation row. The three figures come from one short calibration
// training on the real shapes: two epochs over kCalibrationBatches batches of training rows and one
// batch of validation rows, the second epoch timed (the first compiles kernels for the new shapes,
// which later folds find cached). Candidates that differ only in learning rate share one calibration;
// the first calibration of a sweep runs twice, since it also pays the process's own start-up.
#include "pipeline/train/trainer.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cvtl {

inline constexpr int kCalibrationBatches = 4;

struct FoldCost {
    double setup_seconds = 0;
    double train_seconds_per_row = 0;
    double val_seconds_per_row = 0;
    double measured_seconds = 0;  // the calibration itself
};

// Runs the calibration training of `options` (its output directory is removed afterwards) on the
// first training and validation rows of `splits` (0 train, 1 validation, per cache row).
FoldCost measure_fold_cost(TrainOptions options, const std::vector<std::uint8_t>& splits);

// Seconds one fold of `epochs` epochs over `train_rows` and `val_rows` rows should take.
double predict_fold_seconds(const FoldCost& cost, int epochs, std::int64_t train_rows, std::int64_t val_rows);

struct SweepPlan {
    struct Line {
        std::string candidate;
        double fold_seconds = 0;  // predicted, per fold
    };
    std::vector<Line> candidates;     // in the order they train
    std::vector<int> rung_trainings;  // trainings per rung if nothing is skipped
    double first_rung_seconds = 0;    // every candidate's first rung, as predicted
    double total_seconds = 0;         // first rung + later rungs and the retraining at the mean cost
    double calibration_seconds = 0;
    double budget_seconds = 0;  // 0: none
};

// Fold counts at which candidates are compared: 1, about half, all (successive halving over folds).
std::vector<int> rung_fold_counts(int k);

// Candidates promoted out of `n`: the best third, at least two (so the next rung still compares).
std::size_t promoted(std::size_t n);

// "0.8632": a score in a note.
std::string fixed_digits(double v, int digits);

}  // namespace cvtl
