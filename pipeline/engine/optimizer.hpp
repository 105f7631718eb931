#pragma once
// SGD (momentum, Nesterov), Adam and AdamW over a network's parameters, PyTorch's update rules.
#include "pipeline/engine/layers/layer.hpp"
#include "pipeline/engine/optimizer_kind.hpp"
#include "pipeline/engine/schedule_kind.hpp"

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace cvtl {

struct OptimizerConfig {
    // Empty only in TrainOptions, where it means the strategy's default (resolve_defaults fills it).
    std::optional<OptimizerKind> kind = OptimizerKind::sgd;
    double momentum = 0.9;                          // sgd
    bool nesterov = false;                          // sgd
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;  // adam, adamw
    double weight_decay = 5e-4;  // scaled by each Param::decay_mult (0 for biases and norm parameters)
};

class Optimizer {
public:
    using NamedParams = std::vector<std::pair<std::string, Param*>>;
    Optimizer(const OptimizerConfig& config, NamedParams params);

    // One update with base learning rate `lr` (scaled by each Param::lr_mult; 0 leaves it untouched).
    void step(double lr);

    // State for checkpoints: "param/slot" -> tensor, plus the step count.
    std::map<std::string, cv::Mat> state() const;
    void load_state(const std::map<std::string, cv::Mat>& state);
    long long steps() const { return steps_; }
    void set_steps(long long steps) { steps_ = steps; }

private:
    struct Slot {
        std::string name;
        Param* param;
        cv::Mat first;   // sgd: momentum buffer; adam: first moment
        cv::Mat second;  // adam: second moment
    };
    OptimizerConfig config_;
    std::vector<Slot> slots_;
    long long steps_ = 0;
};

// Learning rate at a (fractional) epoch t in [0, epochs).
struct Schedule {
    std::optional<ScheduleKind> kind = ScheduleKind::cosine;  // empty as in OptimizerConfig
    double base_lr = 0.01;
    int epochs = 10;
    double warmup_epochs = 0;  // linear ramp from base_lr/warmup steps, before any schedule
    int step_epochs = 10;      // step: multiply by gamma every step_epochs
    double gamma = 0.1;

    double at(double t) const;
};

}  // namespace cvtl
