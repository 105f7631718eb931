#include "pipeline/engine/layer_kind.hpp"

#include "pipeline/core/error.hpp"

#include <algorithm>

namespace cvtl {

// Each kind's file defines one of these.
const LayerKind& conv2d_kind();
const LayerKind& batch_norm_kind();
const LayerKind& relu_kind();
const LayerKind& max_pool_kind();
const LayerKind& avg_pool_kind();
const LayerKind& flatten_kind();
const LayerKind& linear_kind();
const LayerKind& dropout_kind();
const LayerKind& scale_kind();
const LayerKind& softmax_kind();
const LayerKind& permute_kind();
const LayerKind& add_kind();
const LayerKind& clip_kind();

namespace {

// The one list of kinds. Explicit rather than self-registering: objects of a static library that
// nothing references are dropped by the linker, and their registration with them.
const std::vector<const LayerKind*>& all_kinds() {
    static const std::vector<const LayerKind*> kinds{
        &conv2d_kind(),  &batch_norm_kind(), &relu_kind(),    &max_pool_kind(), &avg_pool_kind(),
        &flatten_kind(), &linear_kind(),     &dropout_kind(), &scale_kind(),    &softmax_kind(),
        &permute_kind(), &add_kind(),        &clip_kind()};
    return kinds;
}

}  // namespace

Translation LayerKind::translate(cv::dnn::Layer& layer, const std::vector<int>&) const {
    throw Error("layer " + layer.name + " (" + layer.type + ") cannot be trained by cvtl");
}

std::string LayerKind::layer_name(const std::string& block, int, int source_id) const {
    return block + "." + name() + std::to_string(source_id);
}

const LayerKind& layer_kind(const std::string& name) {
    for (const LayerKind* k : all_kinds())
        if (name == k->name()) return *k;
    throw Error("unknown layer kind '" + name + "'");
}

const LayerKind* layer_kind_for_opencv(const std::string& opencv_type) {
    for (const LayerKind* k : all_kinds())
        for (const std::string& t : k->opencv_types())
            if (t == opencv_type) return k;
    return nullptr;
}

bool layer_is(const std::vector<LayerSpec>& layers, size_t i, const char* name) {
    return i < layers.size() && layers[i].type == name;
}

bool reads_only_previous(const std::vector<LayerSpec>& layers, size_t j) {
    if (j == 0 || j >= layers.size()) return false;
    const LayerSpec& l = layers[j];
    const std::string& previous = layers[j - 1].name;
    if (!l.inputs.empty() && !(l.inputs.size() == 1 && l.inputs[0] == previous)) return false;
    for (size_t k = j + 1; k < layers.size(); ++k)
        for (const std::string& input : layers[k].inputs)
            if (input == previous) return false;
    return true;
}

bool fusable(const std::vector<LayerSpec>& layers, size_t j, const char* name) {
    return layer_is(layers, j, name) && reads_only_previous(layers, j);
}

FusedActivation fusable_activation(const std::vector<LayerSpec>& layers, size_t j) {
    if (!reads_only_previous(layers, j)) return {};
    return layer_kind(layers[j].type).fused_activation(layers[j].args);
}

void check_folds_into_convolution(const std::vector<LayerSpec>& layers, size_t i) {
    size_t j = i;
    while (j > 0 && layer_kind(layers[j - 1].type).is_channel_affine() && reads_only_previous(layers, j)) --j;
    if (j == 0 || !layer_is(layers, j - 1, kind::conv2d) || !reads_only_previous(layers, j)) {
        std::string what = layers[i].type;  // "batch_norm" reads "batch norm"
        std::replace(what.begin(), what.end(), '_', ' ');
        throw Error("layer " + layers[i].name + ": the fast path folds " + what +
                    " into the convolution before it, and there is none");
    }
}

bool opencv_type_is(const std::string& opencv_type, const char* name) {
    const LayerKind* k = layer_kind_for_opencv(opencv_type);
    return k && std::string(k->name()) == name;
}

}  // namespace cvtl
