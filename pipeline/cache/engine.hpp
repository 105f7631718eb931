#pragma once
// Which engine runs a source model forward to its taps (tap_engine.hpp).
#include "pipeline/core/vocabulary.hpp"

#include <string>

namespace cvtl {

// onednn: cvtl's fast path (plugin/inference_net); opencv: stock cv::dnn (plugin/tap_forward), on
// any cv::dnn backend.
enum class Engine { onednn, opencv };

inline constexpr NameTable<Engine, 2> kEngineNames{{
    {Engine::onednn, "onednn"},
    {Engine::opencv, "opencv"},
}};

inline const char* to_string(Engine engine) { return name_in(kEngineNames, engine); }

// Throws cvtl::Error for an unknown name, naming `source` (the file it was read from) when given.
inline Engine parse_engine(const std::string& text, const std::string& source = "") {
    return value_in(kEngineNames, text, "{engine}", source);
}

}  // namespace cvtl
