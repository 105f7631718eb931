#pragma once
// One descriptor per layer kind (docs/architecture.md, "Layer kinds"). Everything cvtl knows about a
// kind lives in its file under pipeline/engine/kinds/: how it is recognised in a cv::dnn net, its
// output shape, its trainable layer and initial values, its step in the fast inference plan, and its
// ONNX nodes. Adding a kind means adding one file and one line to the list in layer_kind.cpp (and the
// file to engine.cmake); the block map, head builder, fast path and exporter ask the descriptors.
//
// The engines that use the descriptors (the head builder, the fast path, the exporter) implement the
// small interfaces below; the descriptors never see oneDNN plans or ONNX protobufs directly.
#include "pipeline/engine/layers/layer.hpp"
#include "pipeline/engine/network.hpp"
#include "pipeline/engine/weights.hpp"

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <map>
#include <memory>
#include <random>
#include <string>
#include <variant>
#include <vector>

namespace cvtl {

// The names kinds are stored under in a NetworkSpec (LayerSpec::type) and run directories.
namespace kind {
inline constexpr const char* conv2d = "conv2d";
inline constexpr const char* batch_norm = "batch_norm";
inline constexpr const char* relu = "relu";
inline constexpr const char* max_pool = "max_pool";
inline constexpr const char* avg_pool = "avg_pool";
inline constexpr const char* flatten = "flatten";
inline constexpr const char* linear = "linear";
inline constexpr const char* dropout = "dropout";
inline constexpr const char* add = "add";
inline constexpr const char* clip = "clip";
}  // namespace kind

// An activation the fast path fuses into the primitive before it (a oneDNN post-op).
struct FusedActivation {
    enum class Kind { none, relu, clip } kind = Kind::none;
    float lo = 0, hi = 0;  // clip's bounds
};

// One cv::dnn layer translated into cvtl's vocabulary: its kind, its arguments, and its learned values
// by parameter name ("weights", "bias", "running_mean", ...). An empty kind means "nothing to train"
// (Dropout, Identity: the head builder adds its own dropout).
struct Translation {
    std::string kind;
    nlohmann::json args = nlohmann::json::object();
    std::map<std::string, cv::Mat> values;
};

// The fast inference path's plan under construction, as the descriptors see it: the current activation
// (one sample's shape) and the steps that transform it. Before each layer the plan makes what it reads
// current (LayerSpec::inputs). Implemented by plugin/inference_net.
class InferencePlan {
public:
    virtual ~InferencePlan() = default;
    virtual const WeightMap& weights() const = 0;
    virtual const std::vector<int>& shape() const = 0;
    // Weights [O, I/groups, k, k], bias [O]; square kernel, stride and symmetric padding.
    struct Window {
        int kernel = 1, stride = 1, pad = 0, groups = 1;
    };
    virtual void convolution(const cv::Mat& weights, const cv::Mat& bias, const Window& window,
                             const FusedActivation& activation) = 0;
    virtual void relu() = 0;
    virtual void clip(float lo, float hi) = 0;
    // current + the output of layer `other` (an earlier layer's name, or kNetworkInput), then the activation.
    virtual void add(const std::string& other, const FusedActivation& activation) = 0;
    enum class Pooling { max, avg_include_pad, avg_exclude_pad };
    virtual void pooling(Pooling algorithm, int kernel, int stride, int pad, bool ceil_mode) = 0;
    // Weights [out, in...] with `in` the current activation's size.
    virtual void inner_product(const cv::Mat& weights, const cv::Mat& bias, bool relu) = 0;
    // A new view of the same values (flatten): no step, only the shape changes.
    virtual void reshape(const std::vector<int>& shape) = 0;
};

// The ONNX graph under construction: each node reads the current value, which is the output of what
// the layer reads (LayerSpec::inputs). Implemented by plugin/onnx_export.
class OnnxGraph {
public:
    using Attribute = std::variant<int, float, std::vector<int>>;
    virtual ~OnnxGraph() = default;
    // The weight `name` (a WeightMap key) as an initializer of this shape; throws when it does not fit.
    virtual void initializer(const std::string& name, const std::vector<int>& shape) = 0;
    // A fixed 1-D initializer that is not a weight (a constant operand).
    virtual void constant(const std::string& name, const cv::Mat& value) = 0;
    // A node reading the current value then `inputs`; its output, named `name`, becomes the current value.
    virtual void node(const std::string& op, const std::string& name, const std::vector<std::string>& inputs,
                      const std::map<std::string, Attribute>& attributes = {}) = 0;
    // The ONNX value holding layer `layer`'s output (an exported layer's name, or kNetworkInput).
    virtual std::string value_of(const std::string& layer) const = 0;
    // The model's opset may be at most `opset` (Clip's bounds are attributes only up to opset 10).
    virtual void limit_opset(int opset) = 0;
};

// Where a recognised cv::dnn layer may stand in a VGG-shaped source: among a block's convolutions,
// and/or in the classifier after the last block.
struct BlockRoles {
    bool in_features = false;
    bool in_classifier = false;
};

class LayerKind {
public:
    virtual ~LayerKind() = default;
    virtual const char* name() const = 0;

    // The cv::dnn layer types this kind recognises (cv::dnn::Layer::type strings).
    virtual std::vector<std::string> opencv_types() const { return {}; }
    // Where the block map accepts those layers (plugin/block_map).
    virtual BlockRoles block_roles() const = 0;
    // One recognised cv::dnn layer, whose input has one sample's shape `in`. Throws cvtl::Error (naming
    // what is unsupported) when cvtl cannot train it.
    virtual Translation translate(cv::dnn::Layer& layer, const std::vector<int>& in) const;

    // The name the head builder gives a translated layer: its `ordinal`-th of this kind in `block`, from
    // cv::dnn layer `source_id` ("block5.conv2", "block5.pool").
    virtual std::string layer_name(const std::string& block, int ordinal, int source_id) const;

    // One sample's output shape for input `in`; throws cvtl::Error when the input does not fit.
    virtual std::vector<int> output_shape(const nlohmann::json& /*args*/, const std::vector<int>& in) const {
        return in;
    }
    // The trainable layer (parameters allocated, not initialised).
    virtual std::unique_ptr<Layer> make(const nlohmann::json& args) const = 0;
    // Fresh initial values of the layer's parameters, as torchvision initialises VGG; none by default.
    virtual void initialise(const LayerSpec&, std::mt19937_64&, WeightMap&) const {}
    // Whether a ReLU right after this layer may be fused into it (by a "relu" argument or at inference).
    virtual bool fuses_relu() const { return false; }
    // The activation this layer is, for the fast path to fuse into the primitive before it; none by default.
    virtual FusedActivation fused_activation(const nlohmann::json& /*args*/) const { return {}; }
    // Whether inference computes y = scale[c] * x + shift[c] (batch norm, Caffe's Scale): the fast path
    // folds such layers into the convolution before them, so they need no step of their own.
    virtual bool is_channel_affine() const { return false; }
    // That map's [C] factors from the layer's weights; only called when is_channel_affine().
    virtual void channel_affine(const WeightMap&, const LayerSpec&, cv::Mat& /*scale*/, cv::Mat& /*shift*/) const {}

    // Throws cvtl::Error when the fast path cannot run layers[i] where it stands. Checked when a fast path
    // is made, before any plan, so callers can fall back to stock cv::dnn instead of failing mid-job.
    virtual void check_plannable(const std::vector<LayerSpec>&, size_t) const {}
    // Adds layers[i] (and any following layers it fuses) to the plan; returns how many layers it used.
    virtual size_t plan(InferencePlan& plan, const std::vector<LayerSpec>& layers, size_t i) const = 0;
    // Adds layer `spec`'s nodes to the graph.
    virtual void export_onnx(OnnxGraph& graph, const LayerSpec& spec) const = 0;
};

// The descriptor of a stored kind name; throws cvtl::Error for an unknown one.
const LayerKind& layer_kind(const std::string& name);
// The descriptor that recognises a cv::dnn layer type, or nullptr.
const LayerKind* layer_kind_for_opencv(const std::string& opencv_type);
// Whether layers[i] exists and is of kind `name`.
bool layer_is(const std::vector<LayerSpec>& layers, size_t i, const char* name);
// Whether layers[j] exists, reads layers[j - 1] alone, and is the only layer that reads it: then an
// engine may fuse the two (a ReLU into a convolution) without another layer missing the value between.
bool reads_only_previous(const std::vector<LayerSpec>& layers, size_t j);
// Whether layers[j] is of kind `name` and reads_only_previous.
bool fusable(const std::vector<LayerSpec>& layers, size_t j, const char* name);
// The activation at layers[j] that a primitive before it may fuse (relu, a clip), when it reads only that
// primitive's output; none otherwise.
FusedActivation fusable_activation(const std::vector<LayerSpec>& layers, size_t j);
// Throws cvtl::Error unless layers[i], a channel-affine layer, follows a convolution through channel-affine
// layers only: the fast path can fold it there and nowhere else.
void check_folds_into_convolution(const std::vector<LayerSpec>& layers, size_t i);
// Whether cv::dnn layer type `opencv_type` is recognised as kind `name`.
bool opencv_type_is(const std::string& opencv_type, const char* name);

}  // namespace cvtl
