#include "pipeline/deploy/exporter.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/cache/cache_reader.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/strategy.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "plugin/head_builder.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"
#include "plugin/onnx_export.hpp"

#include <cvtl/version.hpp>

#include <opencv2/core/persistence.hpp>

#include <boost/filesystem.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

// Inputs to compare cv::dnn and cvtl on: cached samples when the run's cache still has them.
cv::Mat verification_inputs(const nlohmann::json& meta, const std::string& tap, const std::vector<int>& sample_shape) {
    const int n = 4;
    try {
        CacheReader reader(meta.at("cache").get<std::string>(), tap);
        if (reader.sample_shape() == sample_shape) return reader.read_rows(0, std::min<std::int64_t>(n, reader.rows()));
    } catch (const Error&) {
        // The cache may have moved or lack this tap: seeded inputs check the same arithmetic.
    }
    std::vector<int> shape{n};
    shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
    cv::Mat x(shape, CV_32F);
    cv::RNG rng(20261126);
    rng.fill(x, cv::RNG::NORMAL, 0.0, 1.0);
    return x;
}

// Removes the listed files when it goes out of scope (on any error path); clear `paths` on success.
struct TemporaryFiles {
    std::vector<std::string> paths;
    ~TemporaryFiles() {
        for (const auto& p : paths) std::remove(p.c_str());
    }
};

// Runs the written file in stock cv::dnn and cvtl's own network on the same inputs and compares the
// logits (before Softmax, whose saturation would hide differences), relative to the largest logit
// magnitude (at least 1). Returns the difference and the number of samples compared.
std::pair<double, int> verify_export(const std::string& file, const NetworkSpec& spec, const WeightMap& weights,
                                     const nlohmann::json& meta) {
    std::string logits_layer;
    for (const auto& l : spec.layers)
        if (l.type != kind::dropout) logits_layer = l.name;
    try {
        cv::dnn::Net net = cv::dnn::readNetFromONNX(file);
        Network reference(spec);
        load_weights(reference, weights);
        const cv::Mat x = verification_inputs(meta, spec.input_tap, spec.input_shape);
        net.setInput(x);
        // OpenCV 4.6's ONNX importer names a layer "onnx_node!" + its node name; others use the name itself.
        const std::string layer = net.getLayerId(logits_layer) >= 0 ? logits_layer : "onnx_node!" + logits_layer;
        const cv::Mat opencv = net.forward(layer).clone();
        cv::Mat ours = reference.forward(x, false).clone();
        // Tests force a disagreement here to prove that a failed check writes nothing.
        if (const char* skew = std::getenv("CVTL_TEST_EXPORT_SKEW")) ours += std::atof(skew);
        double scale = 1;
        cv::minMaxIdx(cv::abs(ours.reshape(1, 1)), nullptr, &scale);
        return {cv::norm(opencv.reshape(1, 1), ours.reshape(1, 1), cv::NORM_INF) / std::max(1.0, scale), x.size[0]};
    } catch (const cv::Exception& e) {
        throw Error("export: stock OpenCV cannot run the exported model: " + e.err);
    }
}

void write_sidecar(const std::string& path, const nlohmann::json& meta, bool head_only) {
    cv::FileStorage fs(path, cv::FileStorage::WRITE | cv::FileStorage::FORMAT_JSON);
    if (!fs.isOpened()) throw Error("cannot write " + path);
    const auto& pre = meta.at("preprocess");
    fs << "format"
       << "cvtl-model"
       << "cvtl_version" << kVersion;
    fs << "input"
       << "input"
       << "output"
       << "prob";
    fs << "input_tap" << (head_only ? meta.at("tap").get<std::string>() : std::string(tap::input));
    fs << "classes" << meta.at("classes").get<std::vector<std::string>>();
    fs << "preprocess"
       << "{";
    fs << "preset" << pre.at("preset").get<std::string>() << "size" << pre.at("size").get<int>();
    fs << "resize" << pre.at("resize").get<std::string>() << "channels" << pre.at("channels").get<std::string>();
    fs << "scale" << pre.at("scale").get<double>();
    fs << "mean" << pre.at("mean").get<std::vector<double>>() << "std" << pre.at("std").get<std::vector<double>>();
    fs << "}";
    fs << "strategy" << meta.at("strategy").get<std::string>() << "source_sha256"
       << meta.at("source_sha256").get<std::string>();
}

}  // namespace

namespace {

// The trained run, checked before anything is written, and the places both files will go.
RunState checked_run(const ExportOptions& o, ExportSummary& summary) {
    const std::string model_h5 = o.run + "/model.h5";
    if (!fs::is_directory(o.run)) throw Error("run directory " + o.run + " does not exist");
    if (!fs::exists(model_h5))
        throw Error(
            "run " + o.run +
            " is incomplete: no model.h5 (training saves it after its first epoch); finish or {resume} the training");
    RunState state = load_run_state(model_h5);
    if (state.kind != RunKind::model)
        throw Error(model_h5 + " is a " + to_string(state.kind) + ", not a trained model");
    // The export copies the run's strategy into its sidecar and metadata: a damaged record stops it here.
    parse_strategy(state.meta.at("strategy").get<std::string>(), model_h5);
    if (o.output.empty()) throw Error("export needs an {output} path for the ONNX model");
    summary.sidecar = fs::path(o.output).replace_extension(".json").string();
    if (summary.sidecar == o.output)
        throw Error(o.output + " would be overwritten by its own sidecar (MODEL.json); name the model MODEL.onnx");
    if (fs::exists(o.output) && !o.force) throw Error(o.output + " already exists; pass {force} to overwrite it");
    if (fs::exists(summary.sidecar) && !o.force)
        throw Error(summary.sidecar + " (the sidecar export writes next to " + o.output +
                    ") already exists; pass {force} to overwrite it");
    const fs::path parent = fs::absolute(o.output).parent_path();
    if (!fs::is_directory(parent))
        throw Error("cannot write " + o.output + ": folder " + parent.string() + " does not exist");
    return state;
}

// Puts the frozen part below the tap, straight from the source model, in front of the trained layers.
void prepend_frozen_layers(const ExportOptions& o, const nlohmann::json& meta, NetworkSpec& spec, WeightMap& weights,
                           ExportSummary& summary) {
    const std::string run_tap = meta.at("tap");
    const std::string recorded = meta.value("source_model", "");
    const ModelFiles files = choose_model({o.model, o.weights}, {recorded, meta.value("source_model_weights", "")});
    const std::string& path = files.path;
    if (path.empty() || !fs::exists(path))
        throw Error("the frozen layers come from the source model (" + recorded +
                    " not found); pass {model} MODEL or use {head-only}");
    SourceModel model = load_model(path, files.weights);
    if (model.sha256 != meta.at("source_sha256").get<std::string>())
        throw Error(path + " is not the model run " + o.run +
                    " was trained from (sha256 differs); pass the right {model}");
    const int size = meta.at("preprocess").at("size");
    BlockMap map = map_blocks(model.net, size, path);
    HeadOptions frozen_options;
    frozen_options.from_tap = tap::input;
    frozen_options.until_tap = run_tap;
    Head frozen = build_head(model.net, map, frozen_options);
    NetworkSpec whole = frozen.spec;  // from the input, then the trained layers reading the tap's layer
    append_layers(whole, spec);
    spec = whole;
    for (const auto& [name, value] : frozen.source_weights) weights.emplace(name, value);
    summary.frozen_layers = static_cast<int>(frozen.spec.layers.size());
}

// Both files are written beside their targets, the model verified, then both renamed: a failure
// anywhere (a thrown error of any kind) removes the temporaries and leaves the old files as they were.
void write_verified(const ExportOptions& o, const std::string& bytes, const NetworkSpec& spec, const WeightMap& weights,
                    const nlohmann::json& meta, ExportSummary& summary) {
    const std::string tmp = o.output + ".tmp", sidecar_tmp = summary.sidecar + ".tmp";
    TemporaryFiles temporaries{{tmp, sidecar_tmp}};
    {
        std::ofstream out(tmp, std::ios::binary);
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!out) throw Error("cannot write " + o.output + " (disk full or read-only folder?)");
    }
    std::tie(summary.max_difference, summary.verified_samples) = verify_export(tmp, spec, weights, meta);
    if (!(summary.max_difference <= kExportTolerance))
        throw Error("export: cv::dnn's logits differ from cvtl's by " + std::to_string(summary.max_difference) +
                    " (relative; > 1e-4); nothing written");
    write_sidecar(sidecar_tmp, meta, o.head_only);
    commit_file(tmp, o.output);
    commit_file(sidecar_tmp, summary.sidecar);
    temporaries.paths.clear();
}

}  // namespace

ExportSummary run_export(const ExportOptions& o) {
    ExportSummary summary;
    const RunState state = checked_run(o, summary);
    const nlohmann::json& meta = state.meta;
    const std::string run_tap = meta.at("tap");
    NetworkSpec spec = NetworkSpec::from_json(state.spec);
    WeightMap weights = state.weights;
    summary.trained_layers = static_cast<int>(spec.layers.size());
    if (!o.head_only && run_tap != tap::input) prepend_frozen_layers(o, meta, spec, weights, summary);

    const std::map<std::string, std::string> metadata = {
        {"cvtl.classes", meta.at("classes").dump()},
        {"cvtl.preprocess", meta.at("preprocess").dump()},
        {"cvtl.strategy", meta.at("strategy").get<std::string>()},
        {"cvtl.source_sha256", meta.at("source_sha256").get<std::string>()},
        {"cvtl.tap", o.head_only ? run_tap : std::string(tap::input)},
        {"cvtl.version", kVersion}};
    const std::string bytes = serialize_onnx(spec, weights, metadata);
    write_verified(o, bytes, spec, weights, meta, summary);
    summary.onnx = o.output;
    summary.bytes = bytes.size();
    return summary;
}

}  // namespace cvtl
