// cvtl evaluate MODEL DATA [--report FILE.json]: accuracy, top-k, per-class precision/recall, confusion.
#include "tools/cvtl/commands.hpp"

#include "pipeline/deploy/evaluator.hpp"
#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/cvtl/progress.hpp"
#include "plugin/thread_policy.hpp"

#include <cstdio>
#include <memory>

namespace cvtl::cli {

void add_evaluate(CLI::App& app) {
    auto o = std::make_shared<EvaluateOptions>();
    CLI::App* cmd = app.add_subcommand(
        "evaluate", "Evaluate a model on labelled images (class-per-folder tree or CSV) or a cache's rows");
    cmd->add_option("MODEL", o->model, "cvtl export (.onnx with its .json), or a source model with --labels")
        ->required();
    cmd->add_option(
           "DATA", o->data,
           "Class-per-folder tree, CSV of path,label[,split], or a cache (CACHE.h5: its rows of --split at the "
           "tap the model reads, no decoding)")
        ->required();
    cmd->add_option_function<std::string>(
           "--split", [o](const std::string& text) { o->split = parse_split(text, "--split"); },
           "Of a cache: train, val or test (extract --test-fraction's held-out rows)")
        ->default_str("test");
    cmd->add_option("--report", o->report,
                    "Write REPORT.json (scores, and every misclassified image worst first with its top-k) and "
                    "REPORT-confusion.csv/png");
    cmd->add_option("--errors-png", o->errors_png,
                    "Draw the worst misclassified images as a contact sheet, labelled with true and predicted class");
    cmd->add_option("--errors", o->errors, "How many images --errors-png draws")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    cmd->add_option("--top-k", o->top_k, "k of the top-k accuracy")->capture_default_str();
    add_classifier_options(cmd, o->classifier);
    cmd->add_option("--batch", o->batch, "Images per forward pass")->capture_default_str();
    add_threads_option(cmd, o->threads);
    add_max_image_option(cmd, o->max_image_bytes);
    cmd->callback([o] {
        o->comm = Communicator::world();
        TerminalEvents terminal;
        const ThreadPolicy policy(o->threads);
        const EvaluateSummary s = run_evaluation(*o, rank_events(terminal.events(), o->comm));
        terminal.finish();
        if (!o->comm.root()) return;
        std::printf("%-20s %8s %10s %8s\n", "class", "support", "precision", "recall");
        for (const auto& c : s.classes)
            if (c.support > 0)
                std::printf("%-20s %8lld %10.4f %8.4f\n", c.name.c_str(), static_cast<long long>(c.support),
                            c.precision, c.recall);
        std::printf("evaluated %s images (%s skipped) in %.1f s: accuracy %.4f, top-%d %.4f%s%s\n",
                    group_digits(s.images).c_str(), group_digits(s.skipped).c_str(), s.seconds, s.accuracy, s.top_k,
                    s.top_k_accuracy, o->report.empty() ? "" : "; report ", o->report.c_str());
    });
}

}  // namespace cvtl::cli
