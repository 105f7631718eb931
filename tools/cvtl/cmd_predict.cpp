// cvtl predict MODEL IMAGE_OR_DIR... [--top-k K] [--json]: classify images.
#include "tools/cvtl/commands.hpp"
#include "tools/cvtl/engine_flags.hpp"
#include "tools/cvtl/named_option.hpp"
#include "tools/cvtl/progress.hpp"

#include "pipeline/deploy/evaluator.hpp"
#include "pipeline/deploy/predictor.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace cvtl::cli {
namespace {

struct PredictArgs {
    std::string model;
    std::vector<std::string> inputs;
    ClassifierOptions classifier;
    int top_k = 1, batch = 16, threads = 0;
    bool json = false;
    std::uint64_t max_image_bytes = kDefaultMaxImageBytes;
};

}  // namespace

void add_predict(CLI::App& app) {
    auto a = std::make_shared<PredictArgs>();
    CLI::App* cmd =
        app.add_subcommand("predict", "Classify images with a cvtl export (or a source model with --labels)");
    cmd->add_option("MODEL", a->model, "cvtl export (.onnx with its .json), or a source model with --labels")
        ->required();
    cmd->add_option("IMAGE_OR_DIR", a->inputs, "Image files or folders (searched recursively)")->required();
    cmd->add_option("--top-k", a->top_k, "Classes to show per image")->capture_default_str();
    cmd->add_flag("--json", a->json, "One JSON object per image");
    add_classifier_options(cmd, a->classifier);
    cmd->add_option("--batch", a->batch, "Images per forward pass")->capture_default_str();
    add_threads_option(cmd, a->threads, "Threads (0: every core)");
    add_max_image_option(cmd, a->max_image_bytes);
    cmd->callback([a] {
        int failed = 0;
        TerminalEvents terminal;
        a->classifier.events = terminal.events();
        const ThreadPolicy policy(a->threads);
        for (const Prediction& p : run_prediction(a->model, a->inputs, std::max(1, a->top_k), a->classifier, a->batch,
                                                  a->threads, a->max_image_bytes)) {
            if (!p.error.empty()) {
                ++failed;
                std::fprintf(stderr, "cvtl: warning: skipped %s: %s\n", p.path.c_str(), cli::as_flags(p.error).c_str());
                if (a->json) std::printf("%s\n", nlohmann::json{{"path", p.path}, {"error", p.error}}.dump().c_str());
                continue;
            }
            if (a->json) {
                nlohmann::json top = nlohmann::json::array();
                for (const auto& [name, prob] : p.top) top.push_back({{"class", name}, {"probability", prob}});
                std::printf("%s\n", nlohmann::json{{"path", p.path}, {"top", top}}.dump().c_str());
            } else {
                std::printf("%s:", p.path.c_str());
                for (const auto& [name, prob] : p.top) std::printf(" %s (%.4f)", name.c_str(), prob);
                std::printf("\n");
            }
        }
        if (failed)
            throw cvtl::Error(std::to_string(failed) + " image(s) could not be classified (see the warnings above)");
    });
}

}  // namespace cvtl::cli
