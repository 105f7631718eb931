#include "plugin/model_loader.hpp"

#include "plugin/error.hpp"
#include "plugin/onnx_repair.hpp"
#include "plugin/sha256.hpp"

#include <filesystem>
#include <fstream>

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

}  // namespace

SourceModel load_model(const std::string& path, const std::string& weights) {
    if (!std::filesystem::is_regular_file(path))
        throw Error("model " + path + " does not exist or is not a file");
    SourceModel model;
    model.path = path;
    const std::string ext = extension(path);
    try {
        if (ext == ".onnx") {
            model.format = "onnx";
            model.sha256 = sha256_file(path);
            OnnxRepair repaired;
            {
                std::ifstream in(path, std::ios::binary);
                if (!in) throw Error("cannot read model " + path + ": no permission");
                repaired = repair_onnx(in, path);
            }
            model.input_size = repaired.input_size;
            model.repaired_nodes = repaired.replaced_nodes;
            model.net = repaired.bytes.empty() ? cv::dnn::readNetFromONNX(path)
                                               : cv::dnn::readNetFromONNX(repaired.bytes.data(), repaired.bytes.size());
        } else if (ext == ".prototxt") {
            model.format = "caffe";
            std::string caffemodel = weights;
            if (caffemodel.empty()) caffemodel = std::filesystem::path(path).replace_extension(".caffemodel").string();
            if (!std::filesystem::is_regular_file(caffemodel))
                throw Error("Caffe model " + path + " needs its weights: " + caffemodel + " not found (pass --weights FILE)");
            // The network is the two files together: a changed prototxt is another model too.
            model.sha256 = sha256_bytes(sha256_file(path) + sha256_file(caffemodel));
            model.net = cv::dnn::readNet(caffemodel, path);
        } else if (ext == ".pb") {
            // cv::dnn reads TensorFlow graphs, but cvtl has no fixture that takes one through every
            // command (NHWC flatten orders, Permute layers), so it does not claim to support them.
            throw Error("model " + path + ": TensorFlow graphs are not supported by cvtl; convert the model to ONNX (e.g. with tf2onnx)");
        } else {
            throw Error("model " + path + " has an unknown format: expected .onnx or .prototxt (Caffe)");
        }
    } catch (const cv::Exception& e) {
        throw Error("OpenCV cannot load model " + path + ": " + first_line(e.what()));
    }
    if (model.net.empty()) throw Error("OpenCV loaded no layers from model " + path);
    return model;
}

}  // namespace cvtl
