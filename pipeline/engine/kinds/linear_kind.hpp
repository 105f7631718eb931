#pragma once
// The arguments of kind linear (pipeline/engine/kinds/linear_kind.cpp), for code that builds a linear
// layer itself: the head builder's new output layer and linear probes.
#include <nlohmann/json.hpp>

namespace cvtl {

struct LinearArgs {
    int in = 0, out = 0;
    bool relu = false;  // a ReLU fused after it

    // Throws cvtl::Error naming the argument that is missing or out of range.
    static LinearArgs read(const nlohmann::json& a);
    nlohmann::json json() const { return {{"in", in}, {"out", out}, {"relu", relu}}; }
};

}  // namespace cvtl
