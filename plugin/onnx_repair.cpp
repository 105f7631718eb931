#include "plugin/onnx_repair.hpp"

#include "pipeline/core/error.hpp"
#include "plugin/onnx_scan.hpp"

#include <onnx/onnx_pb.h>

#include <map>

namespace cvtl {

OnnxRepair repair_onnx(std::istream& in, const std::string& path_for_errors) {
    onnx::ModelProto model;
    if (!model.ParseFromIstream(&in))
        throw Error("cannot parse " + path_for_errors + " as ONNX: the file is truncated or not an ONNX model");

    OnnxRepair result;
    onnx::GraphProto* graph = model.mutable_graph();

    std::map<std::string, int> initializer_index;
    for (int i = 0; i < graph->initializer_size(); ++i) initializer_index[graph->initializer(i).name()] = i;

    // Graph inputs that are initializers are weights, not the image input.
    for (const auto& input : graph->input()) {
        if (initializer_index.count(input.name())) continue;
        result.input_size = square_input_size(input);
        break;
    }

    // Each repaired node copies its initializer, so a small file with many Identity nodes over one
    // large initializer could ask for far more memory than it holds: copies may add at most the
    // file's own size again.
    const std::size_t budget = model.ByteSizeLong();
    std::size_t copied = 0;
    auto* nodes = graph->mutable_node();
    for (int i = 0; i < nodes->size();) {
        const onnx::NodeProto& node = nodes->Get(i);
        // Only a well-formed Identity (one input, one output) over an initializer is repaired.
        auto source = node.input_size() == 1 && node.output_size() == 1 ? initializer_index.find(node.input(0))
                                                                        : initializer_index.end();
        if (node.op_type() != "Identity" || source == initializer_index.end()) {
            ++i;
            continue;
        }
        copied += graph->initializer(source->second).ByteSizeLong();
        if (copied > budget)
            throw Error(
                path_for_errors +
                ": its Identity nodes would copy more weights than the file holds; the file is damaged or hostile");
        onnx::TensorProto copy = graph->initializer(source->second);
        copy.set_name(node.output(0));
        *graph->add_initializer() = copy;
        initializer_index[copy.name()] = graph->initializer_size() - 1;
        nodes->DeleteSubrange(i, 1);
        ++result.replaced_nodes;
    }

    if (result.replaced_nodes > 0 && !model.SerializeToString(&result.bytes)) {
        throw Error("cannot re-serialize " + path_for_errors + " after repairing its Identity nodes");
    }
    return result;
}

}  // namespace cvtl
