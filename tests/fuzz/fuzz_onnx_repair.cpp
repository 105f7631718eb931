// ONNX repair and the ONNX readers (metadata, initializers) on arbitrary bytes: a repaired model,
// the values, or a cvtl::Error; never an out-of-bounds index into nodes, outputs or float_data.
#include "fuzz_support.hpp"

#include "plugin/error.hpp"
#include "plugin/onnx_export.hpp"
#include "plugin/onnx_repair.hpp"

#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    try {
        std::istringstream in(bytes);
        cvtl::repair_onnx(in, "fuzz.onnx");
    } catch (const cvtl::Error&) {
    }
    const std::string path = cvtl::fuzz::write_file("model.onnx", data, size);
    try {
        cvtl::read_onnx_metadata(path);
        cvtl::read_onnx_initializers(path);
    } catch (const cvtl::Error&) {
    }
    return 0;
}
