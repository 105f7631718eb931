#include "pipeline/deploy/sweep_export.hpp"

#include "pipeline/deploy/exporter.hpp"

namespace cvtl {

SweepExportStep sweep_export_step() {
    return [](const std::string& run, const std::string& onnx, const std::string& model, const std::string& weights) {
        ExportOptions e;
        e.run = run;
        e.output = onnx;
        e.model = model;
        e.weights = weights;
        e.force = true;  // the exports belong to the sweep's directory
        const ExportSummary s = run_export(e);
        return SweepExported{s.onnx, s.sidecar, s.max_difference};
    };
}

}  // namespace cvtl
