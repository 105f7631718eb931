#pragma once
// What loading an ONNX model needs to know before cv::dnn reads it, found without parsing the
// weights: protobuf's full parse of a 528 MB VGG-16 copies every initializer (a second ~1 s on top of
// cv::dnn's own parse), when all the loader asks is the input's size and whether repair_onnx has
// anything to do.
#include <cstddef>

namespace onnx {
class ValueInfoProto;
}

namespace cvtl {

struct OnnxScan {
    bool understood =
        false;  // false: the bytes are not a well-formed model; take the full parse (its error names the problem)
    bool needs_repair = false;  // an Identity node reads an initializer, or a Clip reads its bounds (onnx_repair.hpp)
    int input_size = 0;         // as OnnxRepair::input_size
};

// Walks the protobuf wire format of a serialized ModelProto: parses the graph's nodes and inputs
// (small) and reads only the names of its initializers, skipping their payloads.
OnnxScan scan_onnx(const char* data, std::size_t size);

// The spatial size S of a graph input declared [N, C, S, S] with fixed S; 0 otherwise. A declared
// size is a hint: one outside any sane range is ignored (the caller then asks for --size).
int square_input_size(const onnx::ValueInfoProto& input);

}  // namespace cvtl
