#pragma once
// Per-strategy training defaults: what `cvtl train` uses when no hyper-parameter is given.
//
// The defaults are a standard PyTorch transfer recipe (Adam, cosine schedule, no weight decay, a
// fixed budget of optimizer steps rather than a fixed epoch count), with a learning rate per
// strategy measured on the demo's scenarios and on tasks made from Fashion-MNIST's training
// images, never on a test split (docs/defaults.md has the evidence).
#include "pipeline/engine/optimizer.hpp"
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/strategy.hpp"

#include <cstdint>
#include <string>

namespace cvtl {

struct TrainDefaults {
    OptimizerKind optimizer = OptimizerKind::adam;
    double lr = 1e-3;
    double weight_decay = 0;
    ScheduleKind schedule = ScheduleKind::cosine;
};

TrainDefaults defaults_for(Strategy strategy, ClassifierHead head);

// Optimizer steps the automatic epoch count aims for, whatever the dataset size.
inline constexpr int kDefaultSteps = 800;

// Epochs for about `steps` optimizer steps: clamp(round(steps / steps per epoch), 4, 100), so a
// small set still sees every sample a few times and a tiny one is not trained for ever.
int epochs_for_steps(std::int64_t train_rows, int batch, int steps);

// Sentinels meaning "the strategy's default" in TrainOptions.
OptimizerConfig unset_optimizer();  // no kind, weight_decay NaN
Schedule unset_schedule();          // no kind, base_lr 0

}  // namespace cvtl
