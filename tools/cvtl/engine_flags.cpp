#include "tools/cvtl/engine_flags.hpp"

#include "tools/cvtl/commands.hpp"
#include "tools/cvtl/named_option.hpp"

namespace cvtl::cli {

void add_threads_option(CLI::App* cmd, int& threads, const std::string& help) {
    cmd->add_option("--threads", threads, help)->capture_default_str();
}

void add_precision_option(CLI::App* cmd, Precision& precision, const std::string& help) {
    add_named_option(cmd, "--precision", precision, parse_precision, help);
}

void add_engine_options(CLI::App* cmd, Engine& engine, Precision& precision, Backend& backend,
                        const std::string& precision_help, const std::string& backend_help) {
    add_named_option(cmd, "--engine", engine, parse_engine, "onednn (cvtl's fast path) or opencv (stock cv::dnn)");
    add_precision_option(cmd, precision, precision_help);
    add_named_option(cmd, "--backend", backend, parse_backend, backend_help);
}

void add_classifier_options(CLI::App* cmd, ClassifierOptions& classifier) {
    cmd->add_option("--labels", classifier.labels, "Class names, one per line (source models)");
    add_named_option(cmd, "--preset", classifier.preset, parse_preset,
                     "Preprocessing for source models: torchvision, caffe or raw");
    cmd->add_option("--size", classifier.size, "Input size for source models that do not declare it");
    add_weights_option(cmd, classifier.weights);
    add_engine_options(cmd, classifier.engine);
}

}  // namespace cvtl::cli
