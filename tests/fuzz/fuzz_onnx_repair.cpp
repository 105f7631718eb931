// ONNX repair, the loader's scan and the ONNX readers (metadata, initializers) on arbitrary bytes: a
// repaired model, the values, or a cvtl::Error; never an out-of-bounds index into nodes, outputs or
// float_data. Where both the scan and the full parse read the bytes, they must agree (else the loader
// would skip a repair the model needs).
#include "fuzz_support.hpp"

#include "pipeline/core/error.hpp"
#include "plugin/onnx_export.hpp"
#include "plugin/onnx_repair.hpp"
#include "plugin/onnx_scan.hpp"

#include <cstdlib>

#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string bytes(reinterpret_cast<const char*>(data), size);
    const cvtl::OnnxScan scan = cvtl::scan_onnx(bytes.data(), bytes.size());
    try {
        std::istringstream in(bytes);
        const cvtl::OnnxRepair repaired = cvtl::repair_onnx(in, "fuzz.onnx");
        if (scan.understood &&
            (scan.needs_repair != (repaired.replaced_nodes > 0) || scan.input_size != repaired.input_size))
            std::abort();
    } catch (const cvtl::Error&) {}
    const std::string path = cvtl::fuzz::write_file("model.onnx", data, size);
    try {
        cvtl::read_onnx_metadata(path);
        cvtl::read_onnx_initializers(path);
    } catch (const cvtl::Error&) {}
    return 0;
}
