#pragma once
#include "pipeline/core/events.hpp"
// cvtl sweep: from one cache, train every candidate the cache allows (linear probes on every tap,
// the source classifier on pool5, fine-tuning from every cached block, training from scratch), each
// over a small learning-rate grid; rank them without looking at test data; retrain the winner on
// all labelled rows and export it.
//
// Ranking. A candidate's score is its validation accuracy at its best epoch, where "best epoch" is
// chosen on the mean validation curve over the folds it was trained on (ties: lower mean validation
// loss). When the cache's validation split is small (under kCrossValidationBelow rows), the folds are
// a stratified K-fold partition of train+val; otherwise the cache's own split is the one fold.
// Successive halving over folds: every candidate gets one fold, the best third go on to about half
// the folds, the best third of those to all K, so hopeless candidates never cost K trainings.
// The winner is the best candidate among those evaluated on the most folds; it is retrained on every
// labelled row with the same schedule and stopped at the epoch its folds chose.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/engine/layers/precision.hpp"
#include "pipeline/train/sweep_candidates.hpp"
#include "pipeline/train/sweep_plan.hpp"
#include "pipeline/train/train_defaults.hpp"
#include "pipeline/train/trial_status.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace cvtl {

// Validation rows under which `folds = 0` (auto) cross-validates: below it the standard error of an
// accuracy (about sqrt(p(1-p)/n), 2.1 points at p = 0.9 and n = 200) exceeds the gaps between the
// candidates worth telling apart (docs/sweep.md has the measurements behind the choice).
inline constexpr std::int64_t kCrossValidationBelow = 200;
inline constexpr int kDefaultFolds = 5;
// `cvtl sweep`'s default budget: a coffee break on a laptop. Without one, a full VGG-16 at 224 px
// sweeps for hours (issue 22); with one, what does not fit is skipped and reported.
inline constexpr double kDefaultSweepBudgetMinutes = 30;

// The sweep's last step, supplied by its caller: export the retrained winner's run directory `run` to
// `onnx` with the source model and weights the sweep used, as cvtl export does. train/ sits below
// deploy/, which provides the usual step (pipeline/deploy/sweep_export.hpp).
struct SweepExported {
    std::string onnx, sidecar;
    double difference = 0;  // |cv::dnn - cvtl| on the export's verification samples
};
using SweepExportStep = std::function<SweepExported(const std::string& run, const std::string& onnx,
                                                    const std::string& model, const std::string& weights)>;

struct SweepOptions {
    std::string cache;
    std::string output;         // sweep directory
    std::string model;          // source model; default: the file the cache was made from
    std::string weights;        // Caffe weights; default: the cache's when `model` is too, else next to `model`
    double budget_minutes = 0;  // wall-time bound (0: none); the winner's retraining is reserved within it
    int folds = 0;  // 0: auto (kDefaultFolds below kCrossValidationBelow val rows, else 1); 1: the cache's split
    std::vector<std::string> only;  // families or candidate names (empty: all)
    std::vector<double> lrs;        // Adam's learning rates for every family (empty: SweepGrid's per family)
    std::vector<BatchNormMode> bn_modes{BatchNormMode::train, BatchNormMode::frozen};  // fine-tuning with BN
    int threads = 0;
    Precision precision = Precision::f32;
    int batch = 32;
    int steps = kDefaultSteps;  // optimizer-step budget per training (sets the epoch count)
    std::uint64_t seed = 0;
    double memory_gb = 2.0;        // taps that fit are read once and kept in memory
    bool force = false;            // start over in a directory that holds another sweep
    SweepExportStep export_step;   // empty: the winner is ranked and reported, not retrained or exported (cvtl pilot)
    bool export_families = false;  // also retrain and export the best of each family (best-<family>.onnx)
    bool epoch_gate = true;        // stop first folds far behind the leader at 1/4 and 1/2 of their epochs
                                   // (off: every candidate's first fold runs to its end, e.g. to compare strategies)
    // mpirun: each rung's trainings (candidate, fold) are dealt round-robin to the ranks, each trained
    // by one rank alone; the results are exchanged and applied in the same order everywhere, so every
    // rank ranks and promotes alike. Rank 0 writes sweep.json, retrains and exports the winner, and
    // writes the reports. The sweep directory must be on a filesystem every rank sees.
    Communicator comm;
};

struct SweepFold {
    int fold = 0;                                // 0-based; 0 is the cache's split in single-split mode
    std::vector<double> val_accuracy, val_loss;  // per epoch
    double seconds = 0;
    std::string run;  // its run directory
    std::int64_t trained_parameters = 0;
};

struct SweepTrial {
    SweepCandidate candidate;
    int epochs = 0;  // the schedule's length
    std::int64_t trained_parameters = 0;
    std::vector<SweepFold> folds;
    TrialStatus status = TrialStatus::pending;
    std::string note;
    // From the folds (NaN until one is trained):
    int chosen_epoch = 0;
    double score = std::numeric_limits<double>::quiet_NaN();   // mean validation accuracy at chosen_epoch
    double spread = std::numeric_limits<double>::quiet_NaN();  // standard deviation over folds there
    double loss = std::numeric_limits<double>::quiet_NaN();    // mean validation loss there
    double seconds = 0;                                        // all its trainings, those stopped early included
    double stopped_seconds = 0;         // trainings the epoch gate or the budget stopped: their time (no fold kept)
    int stopped_epochs = 0;             // and the epochs they ran
    double predicted_fold_seconds = 0;  // the plan's prediction for one fold (0: could not be measured)
};

// A trial retrained on all labelled rows and exported.
struct SweepExport {
    std::string trial, family;
    std::string run, onnx, sidecar;
    double difference = 0;  // |cv::dnn - cvtl| on the export's verification samples
    double seconds = 0;     // the retraining
};

struct SweepSummary {
    std::string mode;  // how candidates were scored, in words
    int folds = 1;
    std::int64_t labelled_rows = 0, val_rows = 0;
    std::vector<SweepTrial> trials;  // ranked, best first; unscored ones last
    int winner = -1;                 // index into trials, -1 when none could be trained
    std::string final_run, onnx, sidecar;
    double export_difference = 0;  // |cv::dnn - cvtl| on the verification samples
    double final_seconds = 0;
    std::vector<SweepExport> exports;  // the winner (best.onnx) first, then each other family's best when asked
    int trainings = 0;                 // trainings run by this invocation (resumed ones excluded)
    int resumed = 0;                   // fold results taken from an interrupted sweep
    double budget_seconds = 0;
    double seconds = 0;
    SweepPlan plan;                     // as printed before the first training
    std::uint64_t directory_bytes = 0;  // the sweep directory at the end, before its reports
};

// Warnings and progress (stage "rung 1/3", "retraining the winner", "exporting"; trainings done of
// planned; item: the candidate and fold) as every job reports them, plus each finished trial.
struct SweepEvents : Events {
    std::function<void(const SweepTrial&)> trial_done;  // after each of a trial's trainings
    std::function<void(const SweepPlan&)> planned;      // once the candidates' costs are measured, before they train
};

// Writes OUTPUT/runs/<candidate>/fold-<k> (or split/) for every training, OUTPUT/runs/<winner>/all
// (the winner retrained on all labelled rows), OUTPUT/best.onnx + best.json (as cvtl export writes
// them), sweep.csv, sweep.md, sweep.png and sweep.json (the state an interrupted sweep resumes from).
// Throws cvtl::Error.
SweepSummary run_sweep(const SweepOptions& options, const SweepEvents& events);

// Scores a trial from its folds (see the header comment); exposed for tests.
void score_trial(SweepTrial& trial);

// Ranks trials: scored before unscored, more folds before fewer, then score, then lower loss, then
// fewer trained parameters.
bool ranks_before(const SweepTrial& a, const SweepTrial& b);

}  // namespace cvtl
