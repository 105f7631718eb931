#pragma once
// The options that say how a command runs its networks (threads, engine, precision, backend), the
// same for every command that takes them; only the help differs where a command's meaning does.
#include "pipeline/cache/tap_engine.hpp"
#include "pipeline/deploy/classifier_model.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace cvtl::cli {

// The usual help of each option; a command passes its own where the option means more there.
inline constexpr const char* kThreadsHelp = "Threads, per rank under mpirun (0: every core, shared by a node's ranks)";
inline constexpr const char* kPrecisionHelp = "f32, or bf16 on CPUs with AVX512-BF16";
inline constexpr const char* kBackendHelp = "cv::dnn backend for --engine opencv: cpu, opencl, cuda, cuda-fp16";

// --threads N (0: every core).
void add_threads_option(CLI::App* cmd, int& threads, const std::string& help = kThreadsHelp);

// --precision f32|bf16.
void add_precision_option(CLI::App* cmd, Precision& precision, const std::string& help = kPrecisionHelp);

// --engine onednn|opencv, --precision and --backend cpu|opencl|cuda|cuda-fp16.
void add_engine_options(CLI::App* cmd, Engine& engine, Precision& precision, Backend& backend,
                        const std::string& precision_help = kPrecisionHelp,
                        const std::string& backend_help = kBackendHelp);
inline void add_engine_options(CLI::App* cmd, EngineChoice& choice) {
    add_engine_options(cmd, choice.engine, choice.precision, choice.backend);
}

// How predict and evaluate open a model: --labels, --preset and --size for a plain source model,
// --weights for a Caffe one, and the engine options.
void add_classifier_options(CLI::App* cmd, ClassifierOptions& classifier);

}  // namespace cvtl::cli
