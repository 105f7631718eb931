// cvtl sweep CACHE -o DIR: try every strategy and cut point the cache allows, choose on validation or
// cross-validation, export the winner to DIR/best.onnx.
#include "tools/cvtl/commands.hpp"

#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/progress.hpp"
#include "pipeline/deploy/sweep_export.hpp"
#include "pipeline/train/sweep.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <cstdio>
#include <memory>

namespace cvtl::cli {
namespace {

// The plan before the first training: what each candidate's fold should cost, the rungs, the total.
void print_plan(const SweepPlan& p) {
    std::printf("plan (measured in %s): predicted seconds per fold\n", format_duration(p.calibration_seconds).c_str());
    for (const auto& c : p.candidates)
        std::printf("  %-32s %10s\n", c.candidate.c_str(), format_duration(c.fold_seconds).c_str());
    std::string rungs;
    for (size_t r = 0; r < p.rung_trainings.size(); ++r) rungs += (r ? ", " : "") + std::to_string(p.rung_trainings[r]);
    std::printf(
        "rungs: %s trainings; first rung %s, about %s in all with the later rungs, the retraining and the export",
        rungs.c_str(), format_duration(p.first_rung_seconds).c_str(), format_duration(p.total_seconds).c_str());
    if (p.budget_seconds > 0)
        std::printf(
            "; budget %s%s", format_duration(p.budget_seconds).c_str(),
            p.total_seconds > p.budget_seconds ? ": candidates predicted not to fit are skipped, cheapest first" : "");
    std::printf("\n");
    std::fflush(stdout);
}

void run(SweepOptions& o) {
    o.comm = Communicator::world();
    // One line per stage; the ETA comes from the trainings done so far.
    TerminalEvents terminal("sweep ", "trainings");
    SweepEvents events;
    static_cast<Events&>(events) = rank_events(terminal.events(), o.comm);
    events.planned = [&](const SweepPlan& p) {
        terminal.finish();
        print_plan(p);
    };
    const ThreadPolicy policy(o.threads);
    o.export_step = sweep_export_step();
    const SweepSummary s = run_sweep(o, events);
    terminal.finish();
    if (!o.comm.root()) return;
    const SweepTrial& w = s.trials.at(static_cast<size_t>(s.winner));
    int unfinished = 0;
    for (const auto& t : s.trials)
        unfinished +=
            t.status == TrialStatus::skipped || t.status == TrialStatus::cut || t.status == TrialStatus::failed;
    std::printf(
        "swept %zu candidates on %s: %d trainings in %.1f s%s%s\n", s.trials.size(), s.mode.c_str(), s.trainings,
        s.seconds, o.comm.distributed() ? (" on " + std::to_string(o.comm.size()) + " ranks").c_str() : "",
        unfinished ? (", " + std::to_string(unfinished) + " not finished (budget or failure; see sweep.md)").c_str()
                   : "");
    std::printf(
        "winner: %s (reads %s), validation score %.4f over %zu fold(s), retrained on all %lld labelled samples for %d "
        "epochs\n",
        w.candidate.name.c_str(), w.candidate.tap.c_str(), w.score, w.folds.size(),
        static_cast<long long>(s.labelled_rows), w.chosen_epoch);
    std::printf("exported %s (+ %s); ranking in %s/sweep.md, sweep.csv, sweep.png\n", s.onnx.c_str(), s.sidecar.c_str(),
                o.output.c_str());
}

}  // namespace

void add_sweep(CLI::App& app) {
    auto o = std::make_shared<SweepOptions>();
    CLI::App* cmd = app.add_subcommand(
        "sweep", "Try every strategy and cut point from one cache, choose without test data, export the winner");
    cmd->add_option("CACHE", o->cache, "Activation cache written by cvtl extract")->required();
    cmd->add_option("-o,--output", o->output, "Sweep directory (runs/, best.onnx, best.json, sweep.md/csv/png)")
        ->required();
    cmd->add_option("--model", o->model, "Source model (default: the file the cache was made from)");
    add_weights_option(cmd, o->weights);
    o->budget_minutes = kDefaultSweepBudgetMinutes;
    cmd->add_option(
           "--budget", o->budget_minutes,
           "Wall-time budget in minutes, retraining and export included (0: none); cheap candidates go first, and one "
           "predicted not to fit is never started")
        ->capture_default_str();
    cmd->add_option("--folds", o->folds,
                    "Cross-validation folds: 0 auto (5, or what the smallest class allows, when the validation split "
                    "has under 200 samples; "
                    "else the split), 1 the split")
        ->capture_default_str();
    cmd->add_option(
           "--only", o->only,
           "Only these families or candidates (probe, classifier, finetune, scratch, probe-pool2, finetune-b3, ...)")
        ->delimiter(',');
    cmd->add_option("--lrs", o->lrs,
                    "Adam learning rates every candidate is tried with (default: 3e-3,1e-3 for probes, 1e-3,3e-4 "
                    "for the rest)")
        ->delimiter(',');
    auto bn = std::make_shared<std::string>("both");
    cmd->add_option("--bn", *bn,
                    "Batch norm of fine-tuned blocks that hold it: train, frozen (the source's statistics), or both "
                    "(each a candidate, chosen on validation)")
        ->capture_default_str();
    cmd->add_option("--steps", o->steps, "Optimizer steps per training (sets the epoch count)")->capture_default_str();
    cmd->add_option("--batch", o->batch, "Mini-batch size")->capture_default_str();
    cmd->add_option("--seed", o->seed, "Seed for folds, initialisation, shuffling and dropout")->capture_default_str();
    add_threads_option(cmd, o->threads);
    add_precision_option(cmd, o->precision, "f32, or bf16 products on CPUs with AVX512-BF16");
    cmd->add_option("--memory", o->memory_gb, "GiB of cached activations to hold in memory (larger taps stream)")
        ->capture_default_str();
    cmd->add_flag("--force", o->force, "Start over in a directory that holds another sweep");
    cmd->add_flag("!--full-epochs", o->epoch_gate,
                  "Train every candidate's first fold to its last epoch (by default one far behind the leader stops at "
                  "1/4 or 1/2)");
    cmd->callback([o, bn] {
        if (*bn == "both")
            o->bn_modes = {BatchNormMode::train, BatchNormMode::frozen};
        else if (*bn == "train" || *bn == "frozen")
            o->bn_modes = {parse_batch_norm_mode(*bn)};
        else
            throw Error("unknown {bn} '" + *bn + "' (expected train, frozen or both)");
        run(*o);
    });
}

}  // namespace cvtl::cli
