#include "plugin/onnx_export.hpp"
#include "pipeline/core/shape.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/layer_kind.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cvtl/version.hpp>

#include <algorithm>
#include <fstream>

namespace cvtl {
namespace {

// The graph as the layer kinds build it (pipeline/engine/kinds/): each node reads the current value,
// the output of the node before unless the layer names what it reads.
class GraphWriter final : public OnnxGraph {
public:
    GraphWriter(onnx::GraphProto* graph, const WeightMap& weights) : graph_(graph), weights_(weights) {}
    int opset() const { return opset_; }

    // Adds layer `l`'s nodes, reading what it names, and records the value that holds its output.
    void layer(const LayerSpec& l) {
        if (!l.inputs.empty()) current_ = value_of(l.inputs[0]);
        layer_kind(l.type).export_onnx(*this, l);
        output_of_[l.name] = current_;
    }

    std::string value_of(const std::string& layer) const override {
        if (layer == kNetworkInput) return "input";
        const auto it = output_of_.find(layer);
        if (it == output_of_.end()) throw Error("export: layer '" + layer + "' is read before it is exported");
        return it->second;
    }
    void limit_opset(int opset) override { opset_ = std::min(opset_, opset); }

    void initializer(const std::string& name, const std::vector<int>& shape) override {
        auto it = weights_.find(name);
        if (it == weights_.end()) throw Error("export: no weights for " + name);
        tensor(name, shape, it->second);
    }

    void constant(const std::string& name, const cv::Mat& value) override {
        tensor(name, {static_cast<int>(value.total())}, value);
    }

    void node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
              const std::map<std::string, Attribute>& attributes) override {
        onnx::NodeProto* n = graph_->add_node();
        n->set_op_type(op);
        n->set_name(name);
        n->add_input(current_);
        for (const auto& i : inputs) n->add_input(i);
        n->add_output(name);
        for (const auto& [key, value] : attributes) set_attribute(n->add_attribute(), key, value);
        current_ = name;
    }

private:
    void tensor(const std::string& name, const std::vector<int>& shape, const cv::Mat& m) {
        const size_t count = shape_count(shape);
        if (m.total() != count)
            throw Error("export: " + name + " holds " + std::to_string(m.total()) + " values, expected " +
                        std::to_string(count));
        onnx::TensorProto* t = graph_->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (int d : shape) t->add_dims(d);
        const cv::Mat c = m.isContinuous() ? m : m.clone();
        t->set_raw_data(std::string(reinterpret_cast<const char*>(c.ptr<float>()), count * sizeof(float)));
    }

    static void set_attribute(onnx::AttributeProto* a, const std::string& name, const Attribute& value) {
        a->set_name(name);
        if (const int* i = std::get_if<int>(&value)) {
            a->set_type(onnx::AttributeProto::INT);
            a->set_i(*i);
        } else if (const float* f = std::get_if<float>(&value)) {
            a->set_type(onnx::AttributeProto::FLOAT);
            a->set_f(*f);
        } else {
            a->set_type(onnx::AttributeProto::INTS);
            for (int v : std::get<std::vector<int>>(value)) a->add_ints(v);
        }
    }

    onnx::GraphProto* graph_;
    const WeightMap& weights_;
    std::string current_ = "input";
    std::map<std::string, std::string> output_of_;  // layer name -> the value holding its output
    int opset_ = kOnnxOpset;
};

void set_tensor_type(onnx::ValueInfoProto* v, const std::string& name, const std::vector<int>& sample_shape) {
    v->set_name(name);
    auto* tensor = v->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tensor->mutable_shape();
    shape->add_dim()->set_dim_param("N");
    for (int d : sample_shape) shape->add_dim()->set_dim_value(d);
}

onnx::ModelProto parse_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    onnx::ModelProto model;
    if (!in || !model.ParseFromIstream(&in)) throw Error("cannot read " + path + " as an ONNX model");
    return model;
}

}  // namespace

std::string serialize_onnx(const NetworkSpec& spec, const WeightMap& weights,
                           const std::map<std::string, std::string>& metadata) {
    onnx::ModelProto model;
    model.set_ir_version(6);  // the IR version of opset 11
    model.set_producer_name("cvtl");
    model.set_producer_version(kVersion);
    for (const auto& [key, value] : metadata) {
        onnx::StringStringEntryProto* p = model.add_metadata_props();
        p->set_key(key);
        p->set_value(value);
    }
    onnx::GraphProto* graph = model.mutable_graph();
    graph->set_name("cvtl");
    GraphWriter g(graph, weights);
    set_tensor_type(graph->add_input(), "input", spec.input_shape);
    for (const LayerSpec& l : spec.layers) g.layer(l);
    g.node("Softmax", "prob", {}, {{"axis", 1}});
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(g.opset());
    if (g.opset() < kOnnxOpset) model.set_ir_version(5);  // the IR version of opset 10
    const Network probe(spec);
    set_tensor_type(graph->add_output(), "prob", probe.output_shape());

    try {
        onnx::checker::check_model(model);
        onnx::shape_inference::InferShapes(model);
    } catch (const std::exception& e) {
        throw Error(std::string("export: the ONNX checker rejected the model: ") + e.what());
    }
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw Error("export: cannot serialize the ONNX model (over 2 GiB?)");
    return bytes;
}

std::map<std::string, std::string> read_onnx_metadata(const std::string& path) {
    const onnx::ModelProto model = parse_file(path);
    std::map<std::string, std::string> out;
    for (const auto& p : model.metadata_props()) out[p.key()] = p.value();
    return out;
}

std::map<std::string, cv::Mat> read_onnx_initializers(const std::string& path) {
    const onnx::ModelProto model = parse_file(path);
    std::map<std::string, cv::Mat> out;
    for (const auto& t : model.graph().initializer()) {
        if (t.data_type() != onnx::TensorProto::FLOAT) continue;
        // Every size comes from the file: the dims must be sane and the data must fill them exactly.
        if (t.dims_size() > 8)
            throw Error(path + ": initializer " + t.name() + " has " + std::to_string(t.dims_size()) +
                        " dimensions; the file is damaged");
        std::vector<int> shape;
        std::uint64_t count = 1;
        for (auto d : t.dims()) {
            if (d < 0 || d > (1 << 30) || (count *= static_cast<std::uint64_t>(d)) > (1ull << 31))
                throw Error(path + ": initializer " + t.name() + " has impossible dimensions; the file is damaged");
            shape.push_back(static_cast<int>(d));
        }
        if (shape.empty()) shape = {1};
        const std::uint64_t given = t.raw_data().empty() ? static_cast<std::uint64_t>(t.float_data_size())
                                                         : t.raw_data().size() / sizeof(float);
        if (given != count || (!t.raw_data().empty() && t.raw_data().size() % sizeof(float) != 0))
            throw Error(path + ": initializer " + t.name() + " holds " + std::to_string(given) + " values for " +
                        std::to_string(count) + " elements; the file is damaged");
        cv::Mat m(shape, CV_32F);
        if (!t.raw_data().empty())
            std::memcpy(m.ptr<float>(), t.raw_data().data(), count * sizeof(float));
        else
            std::copy(t.float_data().begin(), t.float_data().end(), m.ptr<float>());
        out[t.name()] = m;
    }
    return out;
}

}  // namespace cvtl
