#include "pipeline/train/sweep_plan.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>
#include <cstdio>
#include <chrono>

namespace cvtl {

namespace {

// Roles for the calibration: the first `train` training rows and `val` validation rows; the rest unused.
std::vector<std::uint8_t> calibration_roles(const std::vector<std::uint8_t>& splits, std::int64_t train,
                                            std::int64_t val) {
    std::vector<std::uint8_t> roles(splits.size(), 2);
    for (size_t i = 0; i < splits.size(); ++i) {
        if (splits[i] == 0 && train > 0)
            roles[i] = 0, --train;
        else if (splits[i] == 1 && val > 0)
            roles[i] = 1, --val;
    }
    return roles;
}

}  // namespace

FoldCost measure_fold_cost(TrainOptions options, const std::vector<std::uint8_t>& splits) {
    const std::int64_t batch = std::max(1, options.batch);
    options.row_roles = calibration_roles(splits, batch * kCalibrationBatches, batch);
    options.epochs = 2;  // the first pays one-off costs (kernels compiled for new shapes); the second is timed
    options.stop_epoch = 0;
    options.patience = 0;
    options.keep = TrainOptions::Keep::nothing;
    options.checkpoints = false;
    options.force = true;
    options.deadline = std::chrono::steady_clock::time_point::max();
    std::int64_t train_rows = 0, val_rows = 0;
    for (auto r : options.row_roles) train_rows += r == 0, val_rows += r == 1;

    const TrainSummary s = run_training(options, {});
    boost::system::error_code ec;
    boost::filesystem::remove_all(options.output, ec);
    FoldCost c;
    c.measured_seconds = s.seconds;
    if (s.history.size() < 2 || train_rows == 0) return c;
    const EpochMetrics& m = s.history[1];
    const double train_seconds =
        m.images_per_second > 0 ? static_cast<double>(train_rows) / m.images_per_second : m.seconds;
    c.train_seconds_per_row = train_seconds / static_cast<double>(train_rows);
    c.val_seconds_per_row =
        val_rows > 0 ? std::max(0.0, m.seconds - train_seconds) / static_cast<double>(val_rows) : 0.0;
    c.setup_seconds = std::max(0.0, s.seconds - s.history[0].seconds - m.seconds);
    return c;
}

double predict_fold_seconds(const FoldCost& cost, int epochs, std::int64_t train_rows, std::int64_t val_rows) {
    const double epoch = static_cast<double>(train_rows) * cost.train_seconds_per_row +
                         static_cast<double>(val_rows) * cost.val_seconds_per_row;
    return cost.setup_seconds + std::max(1, epochs) * epoch;
}

std::vector<int> rung_fold_counts(int k) {
    if (k <= 1) return {1};
    std::vector<int> r{1};
    const int half = (k + 1) / 2;
    if (half > 1 && half < k) r.push_back(half);
    r.push_back(k);
    return r;
}

std::size_t promoted(std::size_t n) { return std::min(n, std::max<std::size_t>(2, (n + 2) / 3)); }

std::string fixed_digits(double v, int digits) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

}  // namespace cvtl
