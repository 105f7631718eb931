#include "pipeline/deploy/classifier_model.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/deploy/model_description.hpp"

#include "plugin/backend.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/onnx_export.hpp"

#include <boost/filesystem.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <numeric>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

std::vector<std::string> read_labels(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error("cannot read labels file " + path);
    std::vector<std::string> labels;
    std::string line;
    while (std::getline(in, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty()) labels.push_back(line);
    }
    if (labels.empty()) throw Error("labels file " + path + " is empty (expected one class name per line)");
    // Not check_class_names: real label files repeat names (ImageNet has two "crane"s).
    if (labels.size() > kMaxClasses)
        throw Error("labels file " + path + " lists over " + std::to_string(kMaxClasses) + " classes");
    return labels;
}

// A sidecar is a few kilobytes; anything far larger is not one and is not read into memory.
constexpr std::uintmax_t kMaxSidecarBytes = 64u << 20;

bool read_sidecar(const std::string& json_path, ClassifierModel& m) {
    if (!fs::exists(json_path)) return false;
    if (!fs::is_regular_file(json_path) || fs::file_size(json_path) > kMaxSidecarBytes)
        throw Error(
            json_path +
            " is not a cvtl model sidecar (not a regular file of at most 64 MiB); remove it or re-export the model");
    std::ifstream in(json_path, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) throw Error("cannot read " + json_path);
    ModelDescription d = parse_sidecar(text, json_path);
    m.classes = std::move(d.classes);
    m.preprocess = d.preprocess;
    m.tap = d.tap;
    m.origin = json_path;
    return true;
}

bool read_metadata(const std::string& onnx_path, ClassifierModel& m) {
    ModelDescription d;
    if (!parse_metadata(read_onnx_metadata(onnx_path), onnx_path + " (metadata)", d)) return false;
    m.classes = std::move(d.classes);
    m.preprocess = d.preprocess;
    m.tap = d.tap;
    m.origin = onnx_path + " (metadata)";
    return true;
}

}  // namespace

cv::Mat ClassifierModel::probabilities(const cv::Mat& blob) {
    cv::Mat out;
    if (engine) {
        out = (*engine)(blob)[0];  // logits of the last fully connected layer
    } else {
        source->net.setInput(blob);
        out = source->net.forward().clone();
    }
    out = out.reshape(1, blob.size[0]);
    // The fast path stops at the logits; a cvtl export's Softmax is applied below like a source model's.
    const bool probabilities_given = outputs_probabilities && !engine;
    if (out.cols != static_cast<int>(classes.size()))
        throw Error("model " + source->path + " gives " + std::to_string(out.cols) + " outputs but " + origin +
                    " names " + std::to_string(classes.size()) + " classes");
    return probabilities_given ? out : softmax_rows(out);
}

namespace {

void warn(const ClassifierOptions& options, const std::string& line) {
    if (!line.empty()) options.events.warning(line);
}

// The fast path when the model is VGG-shaped; stock cv::dnn otherwise, on the requested backend
// (never silently on the CPU: select_backend says when it has to fall back).
void choose_engine(ClassifierModel& m, const ClassifierOptions& options) {
    auto stock = [&] {
        std::string warning;
        select_backend(m.source->net, options.engine.backend, warning);
        warn(options, warning);
    };
    if (options.engine.engine == Engine::opencv && options.engine.backend == Backend::cpu) return stock();
    try {
        m.map = std::make_shared<BlockMap>(map_blocks(m.source->net, m.preprocess.size, m.source->path));
    } catch (const Error&) {
        if (options.engine.engine == Engine::opencv) throw;
        return stock();  // not VGG-shaped: stock cv::dnn runs it as it is
    }
    m.engine = std::make_shared<TapEngine>(*m.source, *m.map, std::vector<std::string>{tap::logits}, options.engine,
                                           options.events);
}

// A source model whose last layer is a Softmax already outputs probabilities. OpenCV's ONNX importer
// may end the net with an Identity that names the graph output: look through those.
bool ends_in_softmax(cv::dnn::Net& net) {
    const auto names = net.getLayerNames();
    for (auto it = names.rbegin(); it != names.rend(); ++it) {
        const std::string type = net.getLayer(*it)->type;
        if (type != "Identity") return type == "Softmax";
    }
    return false;
}

}  // namespace

ClassifierModel open_classifier(const std::string& path, const ClassifierOptions& options) {
    ClassifierModel m;
    m.source = std::make_shared<SourceModel>(load_model(path, options.weights));
    const bool is_export = read_sidecar(fs::path(path).replace_extension(".json").string(), m) ||
                           (m.source->format == ModelFormat::onnx && read_metadata(path, m));
    if (is_export) {
        m.outputs_probabilities = true;
        if (!options.labels.empty()) m.classes = read_labels(options.labels);
        choose_engine(m, options);
        return m;
    }
    if (options.labels.empty())
        throw Error("model " + path + " is not a cvtl export (no " +
                    fs::path(path).replace_extension(".json").string() +
                    "); pass {labels} FILE (one class per line) and {preset} to use it as it is");
    m.classes = read_labels(options.labels);
    const int size = options.size > 0 ? options.size : m.source->input_size;
    if (size <= 0) throw Error("model " + path + " does not declare its input size; pass {size} N");
    m.preprocess = make_preprocessing(options.preset.value_or(Preset::torchvision), size);
    m.origin = options.labels;
    m.outputs_probabilities = ends_in_softmax(m.source->net);
    choose_engine(m, options);
    return m;
}

std::vector<int> top_classes(const cv::Mat& row, int k) {
    std::vector<int> idx(static_cast<size_t>(row.cols));
    std::iota(idx.begin(), idx.end(), 0);
    k = std::min(k, row.cols);
    std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                      [&](int a, int b) { return row.at<float>(a) > row.at<float>(b); });
    idx.resize(static_cast<size_t>(k));
    return idx;
}

}  // namespace cvtl
