#pragma once
// The arguments of kind dropout (pipeline/engine/kinds/dropout_kind.cpp), for the head builder, which
// adds dropout after the classifier's hidden layers.
#include <nlohmann/json.hpp>

#include <cstdint>

namespace cvtl {

struct DropoutArgs {
    float p = 0.5f;          // the fraction zeroed in training, in [0, 1)
    std::uint64_t seed = 0;  // of the reproducible mask stream

    // Throws cvtl::Error naming the argument that is missing or out of range.
    static DropoutArgs read(const nlohmann::json& a);
    nlohmann::json json() const { return {{"p", p}, {"seed", seed}}; }
};

}  // namespace cvtl
