#include "pipeline/engine/layer_kind.hpp"

#include "pipeline/core/error.hpp"

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

namespace {

// The one list of kinds. Explicit rather than self-registering: objects of a static library that
// nothing references are dropped by the linker, and their registration with them.
const std::vector<const LayerKind*>& all_kinds() {
    static const std::vector<const LayerKind*> kinds{&conv2d_kind(),   &batch_norm_kind(), &relu_kind(),
                                                     &max_pool_kind(), &avg_pool_kind(),   &flatten_kind(),
                                                     &linear_kind(),   &dropout_kind()};
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

}  // namespace cvtl
