#include "plugin/onnx_export.hpp"

#include "plugin/error.hpp"
#include "pipeline/engine/layers/window.hpp"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cvtl/version.hpp>

#include <fstream>

namespace cvtl {
namespace {

struct GraphWriter {
    onnx::GraphProto* graph;
    const WeightMap& weights;

    void initializer(const std::string& name, const std::vector<int>& shape) {
        auto it = weights.find(name);
        if (it == weights.end()) throw Error("export: no weights for " + name);
        const cv::Mat& m = it->second;
        size_t count = 1;
        for (int d : shape) count *= static_cast<size_t>(d);
        if (m.total() != count) throw Error("export: " + name + " holds " + std::to_string(m.total()) + " values, expected " + std::to_string(count));
        onnx::TensorProto* t = graph->add_initializer();
        t->set_name(name);
        t->set_data_type(onnx::TensorProto::FLOAT);
        for (int d : shape) t->add_dims(d);
        const cv::Mat c = m.isContinuous() ? m : m.clone();
        t->set_raw_data(std::string(reinterpret_cast<const char*>(c.ptr<float>()), count * sizeof(float)));
    }

    onnx::NodeProto* node(const std::string& op, const std::string& name, std::vector<std::string> inputs, const std::string& output) {
        onnx::NodeProto* n = graph->add_node();
        n->set_op_type(op);
        n->set_name(name);
        for (const auto& i : inputs) n->add_input(i);
        n->add_output(output);
        return n;
    }

    static void ints(onnx::NodeProto* n, const std::string& name, std::vector<int> values) {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INTS);
        for (int v : values) a->add_ints(v);
    }
    static void integer(onnx::NodeProto* n, const std::string& name, int value) {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(value);
    }
    static void real(onnx::NodeProto* n, const std::string& name, float value) {
        onnx::AttributeProto* a = n->add_attribute();
        a->set_name(name);
        a->set_type(onnx::AttributeProto::FLOAT);
        a->set_f(value);
    }
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

std::string serialize_onnx(const NetworkSpec& spec, const WeightMap& weights, const std::map<std::string, std::string>& metadata) {
    onnx::ModelProto model;
    model.set_ir_version(6);  // the IR version of opset 11
    model.set_producer_name("cvtl");
    model.set_producer_version(kVersion);
    onnx::OperatorSetIdProto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);
    for (const auto& [key, value] : metadata) {
        onnx::StringStringEntryProto* p = model.add_metadata_props();
        p->set_key(key);
        p->set_value(value);
    }
    onnx::GraphProto* graph = model.mutable_graph();
    graph->set_name("cvtl");
    GraphWriter g{graph, weights};
    set_tensor_type(graph->add_input(), "input", spec.input_shape);

    std::string x = "input";
    std::vector<int> shape = spec.input_shape;
    auto relu_after = [&](const std::string& name) {
        g.node("Relu", name + ".relu", {x}, name + ".relu");
        x = name + ".relu";
    };
    for (const LayerSpec& l : spec.layers) {
        const auto& a = l.args;
        if (l.type == "conv2d") {
            const int in = a.at("in"), out = a.at("out"), k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
            g.initializer(l.name + ".weights", {out, in, k, k});
            g.initializer(l.name + ".bias", {out});
            auto* n = g.node("Conv", l.name, {x, l.name + ".weights", l.name + ".bias"}, l.name);
            GraphWriter::ints(n, "kernel_shape", {k, k});
            GraphWriter::ints(n, "strides", {s, s});
            GraphWriter::ints(n, "pads", {p, p, p, p});
            x = l.name;
            shape = {out, window_output_size(shape[1], k, s, p), window_output_size(shape[2], k, s, p)};
            if (a.at("relu").get<bool>()) relu_after(l.name);
        } else if (l.type == "batch_norm") {
            const int c = a.at("channels");
            for (const char* p : {".gamma", ".beta", ".running_mean", ".running_var"}) g.initializer(l.name + p, {c});
            auto* n = g.node("BatchNormalization", l.name,
                             {x, l.name + ".gamma", l.name + ".beta", l.name + ".running_mean", l.name + ".running_var"}, l.name);
            GraphWriter::real(n, "epsilon", a.at("eps").get<float>());
            x = l.name;
        } else if (l.type == "relu") {
            g.node("Relu", l.name, {x}, l.name);
            x = l.name;
        } else if (l.type == "max_pool" || l.type == "avg_pool") {
            const int k = a.at("kernel"), s = a.at("stride"), p = a.at("pad");
            const bool max = l.type == "max_pool";
            auto* n = g.node(max ? "MaxPool" : "AveragePool", l.name, {x}, l.name);
            GraphWriter::ints(n, "kernel_shape", {k, k});
            GraphWriter::ints(n, "strides", {s, s});
            GraphWriter::ints(n, "pads", {p, p, p, p});
            if (max) GraphWriter::integer(n, "ceil_mode", a.at("ceil").get<bool>() ? 1 : 0);
            else GraphWriter::integer(n, "count_include_pad", a.at("include_pad").get<bool>() ? 1 : 0);
            x = l.name;
        } else if (l.type == "flatten") {
            auto* n = g.node("Flatten", l.name, {x}, l.name);
            GraphWriter::integer(n, "axis", 1);
            x = l.name;
        } else if (l.type == "linear") {
            const int in = a.at("in"), out = a.at("out");
            g.initializer(l.name + ".weights", {out, in});
            g.initializer(l.name + ".bias", {out});
            auto* n = g.node("Gemm", l.name, {x, l.name + ".weights", l.name + ".bias"}, l.name);
            GraphWriter::integer(n, "transB", 1);
            x = l.name;
            if (a.at("relu").get<bool>()) relu_after(l.name);
        } else if (l.type == "dropout") {
            continue;  // identity at inference
        } else {
            throw Error("export: layer " + l.name + " has a type ONNX export does not know: " + l.type);
        }
    }
    auto* softmax = g.node("Softmax", "prob", {x}, "prob");
    GraphWriter::integer(softmax, "axis", 1);
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
        if (t.dims_size() > 8) throw Error(path + ": initializer " + t.name() + " has " + std::to_string(t.dims_size()) + " dimensions; the file is damaged");
        std::vector<int> shape;
        std::uint64_t count = 1;
        for (auto d : t.dims()) {
            if (d < 0 || d > (1 << 30) || (count *= static_cast<std::uint64_t>(d)) > (1ull << 31))
                throw Error(path + ": initializer " + t.name() + " has impossible dimensions; the file is damaged");
            shape.push_back(static_cast<int>(d));
        }
        if (shape.empty()) shape = {1};
        const std::uint64_t given = t.raw_data().empty() ? static_cast<std::uint64_t>(t.float_data_size()) : t.raw_data().size() / sizeof(float);
        if (given != count || (!t.raw_data().empty() && t.raw_data().size() % sizeof(float) != 0))
            throw Error(path + ": initializer " + t.name() + " holds " + std::to_string(given) + " values for " + std::to_string(count) +
                        " elements; the file is damaged");
        cv::Mat m(shape, CV_32F);
        if (!t.raw_data().empty()) std::memcpy(m.ptr<float>(), t.raw_data().data(), count * sizeof(float));
        else std::copy(t.float_data().begin(), t.float_data().end(), m.ptr<float>());
        out[t.name()] = m;
    }
    return out;
}

}  // namespace cvtl
