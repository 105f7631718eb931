// cvtl inspect MODEL [--size N]: the block map (taps, layer ranges, output shapes, parameter counts).
#include "tools/cvtl/commands.hpp"

#include "pipeline/core/shape.hpp"

#include "plugin/block_map.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/model_loader.hpp"

#include <cstdio>
#include <memory>

namespace cvtl::cli {
namespace {

struct InspectArgs {
    std::string model, weights;
    int size = 0;
};

std::string shape_text(const std::vector<int>& shape) {
    std::string s;
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
    return s;
}

void run(const InspectArgs& args) {
    SourceModel model = load_model(args.model, args.weights);
    const int size = args.size > 0 ? args.size : model.input_size;
    if (size <= 0) throw Error("model " + args.model + " does not declare its input size; pass --size N");
    BlockMap map;
    try {
        map = map_blocks(model.net, size, args.model);
    } catch (const cv::Exception& e) {
        throw Error("model " + args.model + " cannot run at input size " + std::to_string(size) + ": " + e.err);
    }
    std::printf("model    %s (%s, sha256 %.16s...)\n", args.model.c_str(), to_string(model.format),
                model.sha256.c_str());
    std::printf("input    3x%dx%d%s\n", size, size, model.input_size == size ? "" : " (from --size)");
    if (model.repaired_nodes)
        std::printf("repaired %d ONNX Identity nodes of shared initializers (stock OpenCV 4.6 cannot import them)\n",
                    model.repaired_nodes);
    if (model.repaired_clips)
        std::printf("repaired %d ONNX Clip nodes whose bounds are inputs (stock OpenCV 4.6 reads them as attributes)\n",
                    model.repaired_clips);
    std::printf("backbone %s\n", map.backbone == Backbone::vgg
                                     ? "VGG: five blocks of convolutions, each ending in a max-pool"
                                     : "graph: five blocks found from its structure, then a global average pooling");
    std::printf("\n%-8s %-10s %-8s %-13s %s\n", "tap", "shape", "values", "layer id", "layer");
    for (const Tap& t : map.taps) {
        const auto values = static_cast<long long>(shape_count(t.shape));
        std::printf("%-8s %-10s %-8s %-13d %s\n", t.name.c_str(), shape_text(t.shape).c_str(),
                    group_digits(values).c_str(), t.layer_id,
                    t.layer_id ? t.layer_name.c_str() : "(preprocessed image)");
    }
    std::printf("\n%-11s %-9s %-7s %-13s %s\n", "block", "layers", "weighted", "parameters", "layer types");
    long long total = 0;
    for (const Block& b : map.blocks) {
        std::string types;
        for (int id = b.first_layer; id <= b.last_layer; ++id)
            types += (types.empty() ? "" : " ") + map.layer_types[id];
        if (types.size() > 70) types = types.substr(0, 67) + "...";
        std::printf("%-11s %3d-%-5d %-8d %-13s %s\n", b.name.c_str(), b.first_layer, b.last_layer, b.convolutions,
                    group_digits(b.parameters).c_str(), types.c_str());
        total += b.parameters;
    }
    std::printf("%-11s %-9s %-8s %s\n", "total", "", "", group_digits(total).c_str());
}

}  // namespace

void add_inspect(CLI::App& app) {
    auto args = std::make_shared<InspectArgs>();
    CLI::App* cmd =
        app.add_subcommand("inspect", "Show a model's block map: taps, layer ranges, output shapes, parameters");
    cmd->add_option("MODEL", args->model, "Source model (.onnx, or a Caffe .prototxt)")->required();
    cmd->add_option("--size", args->size, "Input size S (default: the model's declared size)");
    add_weights_option(cmd, args->weights);
    cmd->callback([args] { run(*args); });
}

}  // namespace cvtl::cli
