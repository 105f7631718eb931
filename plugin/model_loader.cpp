#include "plugin/model_loader.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/core/mapped_file.hpp"
#include "plugin/onnx_repair.hpp"
#include "plugin/onnx_scan.hpp"
#include "pipeline/core/sha256.hpp"

#include <filesystem>
#include <fstream>
#include <future>

namespace cvtl {
namespace {

std::string first_line(const std::string& text) {
    // cv::Exception messages carry file/line prefixes; keep the informative part on one line.
    std::string line = text.substr(0, text.find('\n'));
    auto pos = line.find(") ");
    return pos == std::string::npos ? line : line.substr(pos + 2);
}

std::string extension(const std::string& path) {
    std::string ext = std::filesystem::path(path).extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return ext;
}

// The square input size a Caffe prototxt declares (an Input layer's shape, or input_shape/input_dim):
// OpenCV's importer keeps it as the input layer's shape, which an empty shape query returns.
// 0 when it declares none, or one that is not [N, 3, S, S].
int declared_input_size(cv::dnn::Net& net) {
    try {
        std::vector<cv::dnn::MatShape> in, out;
        net.getLayerShapes(cv::dnn::MatShape(), 0, in, out);
        if (out.size() != 1 || out[0].size() != 4 || out[0][1] != 3 || out[0][2] != out[0][3]) return 0;
        return out[0][2] > 0 ? out[0][2] : 0;
    } catch (const cv::Exception&) {
        return 0;  // no declared shape: the caller asks for --size
    }
}

SourceModel load_caffe(const std::string& path, const std::string& weights) {
    SourceModel model;
    model.format = ModelFormat::caffe;
    model.weights = weights.empty() ? std::filesystem::path(path).replace_extension(".caffemodel").string() : weights;
    if (!std::filesystem::is_regular_file(model.weights))
        throw Error("Caffe model " + path + " needs its weights: " + model.weights +
                    " not found (pass {weights} FILE)");
    // The network is the two files together: a changed prototxt is another model too.
    model.sha256 = sha256_bytes(sha256_file(path) + sha256_file(model.weights));
    model.net = cv::dnn::readNetFromCaffe(path, model.weights);
    if (!model.net.empty()) model.input_size = declared_input_size(model.net);
    return model;
}

// Start-up within a few percent of stock cv::dnn (which spends ~3 s reading a 528 MB VGG-16): the file
// is mapped once; its hash runs on a second thread while cv::dnn parses it; and only a model that
// needs repair is parsed by cvtl too (the scan reads the graph without copying the weights).
SourceModel load_onnx(const std::string& path) {
    SourceModel model;
    model.path = path;
    model.format = ModelFormat::onnx;
    const MappedFile file(path);
    // cv::dnn answers an empty file with an assertion of its own; the user needs to hear what it is.
    if (file.size() == 0)
        throw Error("model " + path + " is an empty file (0 bytes), not an ONNX model; copy or export it again");
    auto hash = std::async(std::launch::async, [&file] { return sha256_bytes(file.data(), file.size()); });
    const OnnxScan scan = scan_onnx(file.data(), file.size());
    model.input_size = scan.input_size;
    // `hash` is declared after `file`: if cv::dnn throws, the future's destructor waits for the
    // thread before the mapping goes.
    if (scan.understood && !scan.needs_repair) {
        model.net = cv::dnn::readNetFromONNX(file.data(), file.size());  // parsed from the mapping: no read() copy
    } else {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw Error("cannot read model " + path + ": no permission");
        const OnnxRepair repaired = repair_onnx(in, path);
        model.input_size = repaired.input_size;
        model.repaired_nodes = repaired.replaced_nodes;
        model.repaired_clips = repaired.repaired_clips;
        model.net = repaired.bytes.empty() ? cv::dnn::readNetFromONNX(path)
                                           : cv::dnn::readNetFromONNX(repaired.bytes.data(), repaired.bytes.size());
    }
    model.sha256 = hash.get();
    return model;
}

}  // namespace

SourceModel load_model(const std::string& path, const std::string& weights) {
    if (!std::filesystem::is_regular_file(path)) throw Error("model " + path + " does not exist or is not a file");
    SourceModel model;
    model.path = path;
    const std::string ext = extension(path);
    if (!weights.empty() && ext != ".prototxt")
        throw Error("{weights} " + weights + " applies to Caffe models (.prototxt) only; " + path +
                    " holds its own weights");
    try {
        if (ext == ".onnx") {
            model = load_onnx(path);
        } else if (ext == ".prototxt") {
            model = load_caffe(path, weights);
            model.path = path;
        } else if (ext == ".pb") {
            // cv::dnn reads TensorFlow graphs, but cvtl has no fixture that takes one through every
            // command (NHWC flatten orders, Permute layers), so it does not claim to support them.
            throw Error("model " + path +
                        ": TensorFlow graphs are not supported by cvtl; convert the model to ONNX (e.g. with tf2onnx)");
        } else {
            throw Error("model " + path + " has an unknown format: expected .onnx or .prototxt (Caffe)");
        }
    } catch (const cv::Exception& e) {
        throw Error("OpenCV cannot load model " + path + ": " + first_line(e.what()));
    }
    if (model.net.empty()) throw Error("OpenCV loaded no layers from model " + path);
    return model;
}

ModelFiles choose_model(const ModelFiles& given, const ModelFiles& recorded) {
    if (given.path.empty()) return {recorded.path, given.weights.empty() ? recorded.weights : given.weights};
    return given;
}

}  // namespace cvtl
