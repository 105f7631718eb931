#pragma once
// A directed acyclic graph of trainable layers, in an order where each layer comes after what it reads:
// the part of a source network above a tap, as the trainer runs it. A VGG is a chain; a ResNet's
// residual addition reads two earlier layers.
#include "pipeline/engine/layers/layer.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace cvtl {

// How to build one layer: enough to recreate the network from a run directory.
struct LayerSpec {
    std::string name;     // unique, e.g. "block5.conv2", "classifier.fc6", "classifier.fc8"
    std::string block;    // "block1".."block5" or "classifier": the unit of --lr-mult
    std::string type;     // Layer::type(): conv2d, batch_norm, relu, max_pool, avg_pool, flatten, linear, dropout
    nlohmann::json args;  // constructor arguments, by name
    // What the layer reads: earlier layers' names, or kNetworkInput. Empty means the layer before it (the
    // network input for the first layer), so a chain needs none and a stored chain reads as before.
    std::vector<std::string> inputs{};
};

// The name by which a layer reads the network's input (no layer name has this form: they contain a dot).
inline constexpr const char* kNetworkInput = "input";

struct NetworkSpec {
    std::vector<int> input_shape;  // one sample, e.g. [512, 14, 14] for pool4
    std::string input_tap;         // the cache tap the network reads
    std::vector<LayerSpec> layers;

    nlohmann::json to_json() const;
    static NetworkSpec from_json(const nlohmann::json& j);
};

class Network {
public:
    struct Entry {
        LayerSpec spec;
        std::unique_ptr<Layer> layer;
    };

    // Builds and sets up every layer; throws cvtl::Error when shapes do not chain.
    explicit Network(const NetworkSpec& spec);

    const NetworkSpec& spec() const { return spec_; }
    std::vector<int> output_shape() const { return output_shape_; }

    // input [N, input_shape...] -> logits [N, K]. The returned Mat is owned by the network.
    const cv::Mat& forward(const cv::Mat& input, bool train);

    // After forward(train=true): the grad of every parameter with lr_mult > 0 from d(loss)/d(logits) [N, K]
    // (the grads of layers below the first trained one are left as they were). `layer_done(i)`, when
    // given, runs as soon as layer i's grads are final (data-parallel training starts reducing them).
    void backward(const cv::Mat& diff_logits, const std::function<void(std::size_t)>& layer_done = {});

    // Data-parallel training: this process's batch holds rows [first_row, ...) of the global batch,
    // so dropout draws the masks the global batch's rows get in one process.
    void set_batch_offset(std::int64_t first_row);
    // Data-parallel training, a rank whose slice of a short last batch is empty: the training forward
    // it skips still advances the dropout streams, as it does on the other ranks.
    void skip_training_forward();

    // Activation index of each input of layer i: 0 is the network input, j + 1 the output of layer j.
    const std::vector<int>& inputs_of(std::size_t i) const { return from_[i]; }

    std::vector<Entry>& entries() { return entries_; }
    const std::vector<Entry>& entries() const { return entries_; }

    // The arithmetic of every layer's products (Layer::set_precision); f32 until set.
    void set_precision(Precision precision);
    // Every normalisation layer trains with its running statistics, unchanged (Layer::set_frozen_statistics).
    void set_frozen_statistics(bool frozen);
    Precision precision() const { return precision_; }

    // "layer.param" -> the parameter, in network order.
    std::vector<std::pair<std::string, Param*>> named_params();
    std::int64_t trainable_values();

private:
    NetworkSpec spec_;
    std::vector<Entry> entries_;
    std::vector<int> output_shape_;
    Precision precision_ = Precision::f32;
    std::vector<std::vector<int>> from_;  // per layer: the activations it reads (inputs_of)
    std::vector<cv::Mat> activations_;    // [0] the input, [i + 1] the output of layer i
    std::vector<cv::Mat> diffs_;          // the same indices: d(loss)/d(activation)
    cv::Mat scratch_diff_;                // a second consumer's gradient, before it is added
};

// Puts `above`'s layers after `below`'s: what `above` read as its input (kNetworkInput) it now reads from
// `below`'s last layer. `below` keeps its input.
void append_layers(NetworkSpec& below, const NetworkSpec& above);

// The activation indices layer `i` of `spec` reads (see Network::inputs_of); throws cvtl::Error naming
// the layer when an input is not an earlier layer.
std::vector<int> resolve_inputs(const NetworkSpec& spec, std::size_t i);

// The layer a spec describes (parameters freshly allocated, not initialised).
std::unique_ptr<Layer> make_layer(const LayerSpec& spec);

}  // namespace cvtl
