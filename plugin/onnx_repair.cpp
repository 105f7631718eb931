#include "plugin/onnx_repair.hpp"

#include "pipeline/core/error.hpp"
#include "plugin/onnx_scan.hpp"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <map>

namespace cvtl {
namespace {

// The one float a constant holds (a Constant node's value, or an initializer); nullopt-like false when
// it is not a float scalar.
bool scalar_value(const onnx::TensorProto& t, float& value) {
    if (t.data_type() != onnx::TensorProto::FLOAT) return false;
    if (t.raw_data().size() == sizeof(float)) return std::memcpy(&value, t.raw_data().data(), sizeof(float)), true;
    if (t.raw_data().empty() && t.float_data_size() == 1) return value = t.float_data(0), true;
    return false;
}

// Moves each Clip's bound inputs (min, max) to attributes; returns how many Clips it changed.
int repair_clips(onnx::GraphProto* graph, const std::string& path) {
    std::map<std::string, const onnx::TensorProto*> constants;
    for (const auto& t : graph->initializer()) constants[t.name()] = &t;
    for (const auto& n : graph->node())
        if (n.op_type() == "Constant" && n.output_size() == 1)
            for (const auto& a : n.attribute())
                if (a.name() == "value" && a.has_t()) constants[n.output(0)] = &a.t();
    int repaired = 0;
    for (auto& node : *graph->mutable_node()) {
        if (node.op_type() != "Clip" || node.input_size() < 2) continue;
        for (int k = 1; k < node.input_size() && k <= 2; ++k) {
            if (node.input(k).empty()) continue;  // an omitted bound
            const auto it = constants.find(node.input(k));
            float bound = 0;
            if (it == constants.end() || !scalar_value(*it->second, bound))
                throw Error(path + ": Clip node " + node.name() + " has a bound that is not a constant float (" +
                            node.input(k) + "); OpenCV cannot import it");
            onnx::AttributeProto* a = node.add_attribute();
            a->set_name(k == 1 ? "min" : "max");
            a->set_type(onnx::AttributeProto::FLOAT);
            a->set_f(bound);
        }
        node.mutable_input()->DeleteSubrange(1, node.input_size() - 1);
        ++repaired;
    }
    return repaired;
}

}  // namespace

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

    result.repaired_clips = repair_clips(graph, path_for_errors);
    if ((result.replaced_nodes > 0 || result.repaired_clips > 0) && !model.SerializeToString(&result.bytes)) {
        throw Error("cannot re-serialize " + path_for_errors + " after repairing it");
    }
    return result;
}

}  // namespace cvtl
