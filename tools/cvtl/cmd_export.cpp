// cvtl export RUN -o MODEL.onnx: the trained network as one ONNX file stock OpenCV loads.
#include "tools/cvtl/commands.hpp"

#include "pipeline/deploy/exporter.hpp"

#include <cstdio>
#include <memory>

namespace cvtl::cli {

void add_export(CLI::App& app) {
    auto o = std::make_shared<ExportOptions>();
    CLI::App* cmd = app.add_subcommand(
        "export", "Package a run as ONNX (frozen source layers + trained layers + Softmax) with a sidecar NAME.json");
    cmd->add_option("RUN", o->run, "Run directory written by cvtl train")->required();
    cmd->add_option("-o,--output", o->output, "ONNX file to write")->required();
    cmd->add_option("--model", o->model, "Source model for the frozen layers (default: the one the run recorded)");
    add_weights_option(cmd, o->weights);
    cmd->add_flag("--head-only", o->head_only, "Export only the trained part, whose input is the run's tap");
    cmd->add_flag("--force", o->force, "Overwrite an existing output");
    cmd->callback([o] {
        const ExportSummary s = run_export(*o);
        std::printf(
            "exported %d frozen + %d trained layers to %s (%s) and %s; cv::dnn matches cvtl within %.1e on %d "
            "samples\n",
            s.frozen_layers, s.trained_layers, s.onnx.c_str(), human_bytes(static_cast<double>(s.bytes)).c_str(),
            s.sidecar.c_str(), s.max_difference, s.verified_samples);
    });
}

}  // namespace cvtl::cli
