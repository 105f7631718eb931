#include "plugin/onnx_scan.hpp"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/wire_format_lite.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <set>
#include <string>
#include <vector>

namespace cvtl {
namespace {

using google::protobuf::io::CodedInputStream;
using Wire = google::protobuf::internal::WireFormatLite;

// Field numbers of onnx.proto (ModelProto.graph, GraphProto.node/initializer/input, TensorProto.name).
constexpr int kModelGraph = 7;
constexpr int kGraphNode = 1, kGraphInitializer = 5, kGraphInput = 11;
constexpr int kTensorName = 8;

struct GraphFacts {
    std::set<std::string> initializers;
    std::vector<std::string> identity_inputs;  // the input of each well-formed Identity node
    bool clip_bound_inputs = false;            // some Clip reads its bounds as inputs (see onnx_repair.hpp)
    std::vector<onnx::ValueInfoProto> inputs;
};

// Calls field(number, in) for each length-delimited field of the message up to in's limit, and skips
// every other field; field() consumes the bytes it is given (or skips them). False on malformed bytes.
template <typename Field>
bool each_field(CodedInputStream& in, Field&& field) {
    while (const std::uint32_t tag = in.ReadTag()) {
        if (Wire::GetTagWireType(tag) != Wire::WIRETYPE_LENGTH_DELIMITED) {
            if (!Wire::SkipField(&in, tag)) return false;
            continue;
        }
        int length = 0;
        if (!in.ReadVarintSizeAsInt(&length) || length < 0) return false;
        const auto limit = in.PushLimit(length);
        const bool ok = field(static_cast<int>(Wire::GetTagFieldNumber(tag)), in, length);
        if (!ok || in.BytesUntilLimit() != 0) return false;
        in.PopLimit(limit);
    }
    return in.ConsumedEntireMessage();
}

// Reads a whole sub-message (nodes and inputs are small) and parses it.
template <typename Message>
bool read_message(CodedInputStream& in, int length, Message& message) {
    std::string bytes;
    return in.ReadString(&bytes, length) && message.ParseFromString(bytes);
}

bool read_tensor_name(CodedInputStream& in, std::set<std::string>& names) {
    std::string name;
    const bool ok = each_field(in, [&](int number, CodedInputStream& s, int length) {
        return number == kTensorName ? s.ReadString(&name, length) : s.Skip(length);
    });
    names.insert(name);
    return ok;
}

bool read_graph(CodedInputStream& in, GraphFacts& facts) {
    return each_field(in, [&](int number, CodedInputStream& s, int length) {
        if (number == kGraphInitializer) return read_tensor_name(s, facts.initializers);
        if (number == kGraphInput) return read_message(s, length, facts.inputs.emplace_back());
        if (number != kGraphNode) return s.Skip(length);
        onnx::NodeProto node;
        if (!read_message(s, length, node)) return false;
        if (node.op_type() == "Identity" && node.input_size() == 1 && node.output_size() == 1)
            facts.identity_inputs.push_back(node.input(0));
        facts.clip_bound_inputs |= node.op_type() == "Clip" && node.input_size() > 1;
        return true;
    });
}

}  // namespace

int square_input_size(const onnx::ValueInfoProto& input) {
    const auto& dims = input.type().tensor_type().shape().dim();
    if (dims.size() == 4 && dims[2].has_dim_value() && dims[3].has_dim_value() &&
        dims[2].dim_value() == dims[3].dim_value() && dims[2].dim_value() > 0 && dims[2].dim_value() <= 65536)
        return static_cast<int>(dims[2].dim_value());
    return 0;
}

OnnxScan scan_onnx(const char* data, std::size_t size) {
    OnnxScan scan;
    if (size > static_cast<std::size_t>(INT_MAX)) return scan;  // beyond protobuf's limit: the full parse reports it
    CodedInputStream in(reinterpret_cast<const std::uint8_t*>(data), static_cast<int>(size));
    in.SetTotalBytesLimit(INT_MAX);
    GraphFacts facts;
    // Repeated graph fields merge, as protobuf's parser does.
    const bool ok = each_field(in, [&](int number, CodedInputStream& s, int length) {
        return number == kModelGraph ? read_graph(s, facts) : s.Skip(length);
    });
    if (!ok) return scan;
    scan.understood = true;
    for (const std::string& name : facts.identity_inputs) scan.needs_repair |= facts.initializers.count(name) > 0;
    scan.needs_repair |= facts.clip_bound_inputs;
    // Graph inputs that are initializers are weights, not the image input.
    for (const auto& input : facts.inputs) {
        if (facts.initializers.count(input.name())) continue;
        scan.input_size = square_input_size(input);
        break;
    }
    return scan;
}

}  // namespace cvtl
