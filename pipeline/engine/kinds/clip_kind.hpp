#pragma once
// The arguments of kind clip (pipeline/engine/kinds/clip_kind.cpp), for the engines that fuse a clip
// into the primitive before it.
#include <nlohmann/json.hpp>

namespace cvtl {

struct ClipArgs {
    float min = 0, max = 6;  // ReLU6 by default

    // Throws cvtl::Error naming the argument that is missing or out of range.
    static ClipArgs read(const nlohmann::json& a);
    nlohmann::json json() const { return {{"min", min}, {"max", max}}; }
};

}  // namespace cvtl
