// cvtl train CACHE.h5 -o RUN --strategy classifier|finetune|scratch: retrain from cached activations.
#include "tools/cvtl/commands.hpp"

#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/cvtl/progress.hpp"
#include "pipeline/train/trainer.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

namespace cvtl::cli {
namespace {

struct TrainArgs {
    TrainOptions options;
    std::vector<std::string> lr_mult;
};

// "block5=0.1" -> {"block5", 0.1}
std::pair<std::string, double> parse_mult(const std::string& text) {
    const auto eq = text.find('=');
    try {
        if (eq == std::string::npos) throw std::invalid_argument(text);
        size_t used = 0;
        const std::string value = text.substr(eq + 1);
        const double v = std::stod(value, &used);
        if (used != value.size()) throw std::invalid_argument(text);
        return {text.substr(0, eq), v};
    } catch (const std::exception&) {
        throw Error("--lr-mult expects BLOCK=FACTOR (e.g. block5=0.1), got '" + text + "'");
    }
}

void run(TrainArgs& args) {
    TrainOptions& o = args.options;
    for (const auto& m : args.lr_mult) o.lr_mult.insert(parse_mult(m));
    o.comm = Communicator::world();
    TerminalEvents terminal;
    int epochs = o.epochs;
    TrainEvents events;
    static_cast<Events&>(events) = rank_events(terminal.events(), o.comm);
    events.planned = [&](const TrainOptions& r) {
        epochs = r.epochs;
        if (!o.comm.root()) return;
        std::printf("%s, learning rate %g, %s schedule, weight decay %g, batch %d, %d epochs\n",
                    to_string(r.optimizer.kind.value()), r.schedule.base_lr, to_string(r.schedule.kind.value()),
                    r.optimizer.weight_decay, r.batch, r.epochs);
        std::fflush(stdout);
    };
    events.epoch_done = [&](const EpochMetrics& m) {
        if (!o.comm.root()) return;
        terminal.finish();
        std::printf("epoch %d/%d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  lr %.3g  %.1f s  %.0f images/s",
                    m.epoch, epochs, m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, m.learning_rate,
                    m.seconds, m.images_per_second);
        // Data-parallel: where rank 0's step time went, the measure of what the gradient sums cost.
        if (o.comm.distributed())
            std::printf("  (compute %.2f s, waiting for gradient sums %.2f s, optimizer %.2f s)", m.compute_seconds,
                        m.reduce_seconds, m.optimizer_seconds);
        std::printf("\n");
        std::fflush(stdout);
    };
    const ThreadPolicy policy(o.threads);
    const TrainSummary s = run_training(o, events);
    if (o.stop_after_epochs > 0 && static_cast<int>(s.history.size()) < s.epochs) return;
    if (!o.comm.root()) return;
    if (s.ranks > 1)
        std::printf("data-parallel on %d ranks: each step summed %s of gradients in %zu bucket%s\n", s.ranks,
                    human_bytes(static_cast<double>(s.allreduce_bytes)).c_str(), s.allreduce_buckets,
                    s.allreduce_buckets == 1 ? "" : "s");
    std::printf(
        "trained %s parameters of %s from %s on %s samples (%s val) in %.1f s [%s]: %s val accuracy %.4f at epoch "
        "%d%s; run in %s\n",
        group_digits(s.trained_parameters).c_str(), to_string(o.strategy), s.tap.c_str(),
        group_digits(s.train_rows).c_str(), group_digits(s.val_rows).c_str(), s.seconds, to_string(s.precision),
        o.keep_epoch == KeptEpoch::best ? "best" : "last epoch's", s.best_val_accuracy, s.best_epoch,
        s.early_stopped ? " (early stop)" : "", o.output.c_str());
}

}  // namespace

void add_train(CLI::App& app) {
    auto args = std::make_shared<TrainArgs>();
    TrainOptions& o = args->options;
    CLI::App* cmd = app.add_subcommand(
        "train", "Train a new classifier, fine-tune the top blocks, or train from scratch, from a cache");
    cmd->add_option("CACHE", o.cache, "Activation cache written by cvtl extract")->required();
    cmd->add_option("-o,--output", o.output, "Run directory (model.h5, checkpoint.h5, metrics, plots)")->required();
    add_named_option(cmd, "--strategy", o.strategy, parse_strategy,
                     "classifier (on pool5), finetune (blocks K..5 + classifier), scratch (every layer)");
    cmd->add_option("--from-block", o.from_block, "finetune: first trained block K (reads pool{K-1})")
        ->capture_default_str();
    add_named_option(cmd, "--head", o.head, parse_classifier_head,
                     "classifier: source (the model's hidden fc layers + a new output) or linear (a probe)");
    cmd->add_option("--tap", o.tap, "--head linear: tap to probe (default fc7 when cached, else pool5)");
    cmd->add_option("--model", o.model, "Source model (default: the file the cache was made from)");
    add_weights_option(cmd, o.weights);
    cmd->add_option("--epochs", o.epochs, "Epochs (default: about --steps optimizer steps, 4 to 100 epochs)");
    cmd->add_option("--steps", o.steps, "Step budget behind the default epoch count")->capture_default_str();
    cmd->add_option("--batch", o.batch, "Mini-batch size")->capture_default_str();
    add_named_option(cmd, "--optimizer", o.optimizer.kind, parse_optimizer_kind, "sgd, adam or adamw (default adam)");
    cmd->add_option("--lr", o.schedule.base_lr, "Base learning rate (default 1e-3)");
    add_named_option(cmd, "--schedule", o.schedule.kind, parse_schedule_kind,
                     "constant, step or cosine (default cosine)");
    cmd->add_option("--warmup", o.schedule.warmup_epochs, "Linear warm-up epochs")->capture_default_str();
    cmd->add_option("--step-epochs", o.schedule.step_epochs, "step schedule: epochs between decays")
        ->capture_default_str();
    cmd->add_option("--gamma", o.schedule.gamma, "step schedule: decay factor")->capture_default_str();
    cmd->add_option("--momentum", o.optimizer.momentum, "SGD momentum")->capture_default_str();
    cmd->add_flag("--nesterov", o.optimizer.nesterov, "SGD with Nesterov momentum");
    cmd->add_option("--weight-decay", o.optimizer.weight_decay,
                    "L2 (sgd, adam) or decoupled (adamw); never on biases or norms (default 0)");
    cmd->add_option("--lr-mult", args->lr_mult,
                    "Per-block learning-rate multiplier, e.g. block5=0.1 (0 freezes); repeatable");
    cmd->add_option("--dropout", o.dropout, "Dropout after the hidden fully connected layers")->capture_default_str();
    add_named_option(cmd, "--bn", o.bn, parse_batch_norm_mode,
                     "Trained batch norm layers: train (batch statistics, as PyTorch's train()) or frozen (the "
                     "source's running statistics, kept; gamma and beta still trained) (default train)");
    add_named_option(cmd, "--keep-epoch", o.keep_epoch, parse_kept_epoch,
                     "The epoch model.h5 keeps: last (as PyTorch, Keras and fastai loops do) or best (the highest "
                     "val accuracy, ties to the lower loss; noisy on a small validation split) (default last)");
    cmd->add_option("--patience", o.patience, "Early stopping: epochs without a better val accuracy (0: off)")
        ->capture_default_str();
    cmd->add_option("--seed", o.seed, "Seed for initialisation, shuffling and dropout")->capture_default_str();
    // Hidden: the resume tests (mpirun included) stop a run after some epochs, as if it was killed.
    cmd->add_option("--stop-after-epochs", o.stop_after_epochs,
                    "Stop after this many epochs, as if interrupted (tests)")
        ->group("");
    add_threads_option(cmd, o.threads);
    add_precision_option(cmd, o.precision,
                         "f32, or bf16 products on CPUs with AVX512-BF16 (weights and gradients stay f32)");
    cmd->add_option("--memory", o.memory_gb, "GiB of cached activations to hold in memory (larger caches stream)")
        ->capture_default_str();
    cmd->add_flag("--resume", o.resume, "Continue the run directory's checkpoint");
    cmd->add_flag("--force", o.force, "Start over in a run directory that already holds a run");
    cmd->callback([args] { run(*args); });
}

}  // namespace cvtl::cli
