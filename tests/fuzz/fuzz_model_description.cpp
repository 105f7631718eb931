// The sidecar and ONNX-metadata readers: whatever MODEL.json or metadata_props hold, the result is
// a validated description or a cvtl::Error.
#include "pipeline/deploy/model_description.hpp"
#include "pipeline/core/error.hpp"

#include <cstdint>
#include <map>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        cvtl::parse_sidecar(text, "fuzz.json");
    } catch (const cvtl::Error&) {}
    // The same bytes as metadata: the first line is cvtl.classes, the rest cvtl.preprocess.
    const size_t cut = text.find('\n');
    std::map<std::string, std::string> meta{{"cvtl.classes", text.substr(0, cut)},
                                            {"cvtl.preprocess", cut == std::string::npos ? "" : text.substr(cut + 1)}};
    try {
        cvtl::ModelDescription d;
        cvtl::parse_metadata(meta, "fuzz.onnx", d);
    } catch (const cvtl::Error&) {}
    return 0;
}
