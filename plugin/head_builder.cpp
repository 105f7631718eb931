#include "plugin/head_builder.hpp"
#include "pipeline/core/shape.hpp"

#include "pipeline/core/error.hpp"
#include "pipeline/engine/kinds/dropout_kind.hpp"
#include "pipeline/engine/kinds/linear_kind.hpp"
#include "pipeline/engine/layer_kind.hpp"
#include "plugin/tap_name.hpp"

#include <opencv2/dnn/all_layers.hpp>

#include <algorithm>

namespace cvtl {
namespace {

// Fully connected layers are named as in VGG papers, fc6, fc7, fc8, after the five blocks.
std::string fully_connected_name(int index) { return "classifier.fc" + std::to_string(index); }

// Translation state: the network being built and what each translated cv::dnn layer's value is called
// in it. The layer kinds translate each cv::dnn layer (pipeline/engine/kinds/); the builder decides
// names, wires each layer to what it reads (a residual addition reads two), fuses ReLUs, replaces the
// output layer and adds dropout.
struct Builder {
    cv::dnn::Net& net;
    const BlockMap& map;
    const HeadOptions& options;
    int last = 0, last_fc = 0;  // the last source layer to translate, and the source's output layer
    bool stop_early = false;    // building up to a tap (until_tap), not to the output
    Head head{};
    std::vector<int> shape{};              // one sample's shape of what the current layer reads
    std::map<std::string, int> ordinal{};  // layers of each kind so far in the current block
    int fc_index = 5;                      // the last fully connected layer's number (fully_connected_name)
    std::map<int, std::string> value{};    // cv::dnn layer id -> the spec layer holding its output
    std::map<std::string, std::vector<int>> shape_of{};  // spec layer (or kNetworkInput) -> one sample's shape
    std::vector<std::string> reads{};                    // what the layer being translated reads, by spec name

    std::string block_of(int id) const {
        for (const Block& b : map.blocks)
            if (id >= b.first_layer && id <= b.last_layer) return b.name;
        return "classifier";
    }
    const std::vector<int>& inputs_of(int id) const { return map.layer_inputs.at(static_cast<size_t>(id)); }
    int readers(int id) const {
        int n = 0;
        for (int other = id + 1; other <= static_cast<int>(map.layer_inputs.size()) - 1; ++other)
            for (int in : inputs_of(other)) n += in == id;
        return n;
    }
    // Whether source layer id + 1 is of kind `kind_name`, reads id alone, and is its only reader.
    bool next_is(int id, const char* kind_name) const {
        return id + 1 <= last && opencv_type_is(map.layer_types[static_cast<size_t>(id + 1)], kind_name) &&
               inputs_of(id + 1) == std::vector<int>{id} && readers(id) == 1;
    }
    std::string previous() const { return head.spec.layers.empty() ? kNetworkInput : head.spec.layers.back().name; }

    // Points the builder at what source layer `id` reads: its spec names and the first one's shape.
    void read_inputs_of(int id) {
        reads.clear();
        for (int in : inputs_of(id)) {
            const auto it = value.find(in);
            if (it == value.end())
                throw Error("layer " + net.getLayer(id)->name + " reads a layer below tap " + options.from_tap +
                            "; start from a block boundary");
            reads.push_back(it->second);
        }
        if (reads.empty()) throw Error("layer " + net.getLayer(id)->name + " reads nothing");
        shape = shape_of.at(reads[0]);
    }

    void add(const std::string& name, const std::string& block, Translation t) {
        for (auto& [param, value] : t.values) head.source_weights[name + "." + param] = std::move(value);
        shape = layer_kind(t.kind).output_shape(t.args, shape);
        // A layer that reads only the one before it needs no inputs: a chain is stored as before graphs.
        std::vector<std::string> inputs =
            reads == std::vector<std::string>{previous()} ? std::vector<std::string>{} : reads;
        head.spec.layers.push_back({name, block, t.kind, std::move(t.args), std::move(inputs)});
        shape_of[name] = shape;
        reads = {name};
    }

    void flatten() {
        if (shape.size() > 1) add("classifier.flatten", "classifier", {kind::flatten, nlohmann::json::object(), {}});
    }

    // The source's output layer is replaced by a new one with options.classes outputs (unless kept);
    // hidden ones keep their weights and get dropout after them, as torchvision's VGG.
    int fully_connected(int id, Translation t) {
        flatten();
        const std::string name = fully_connected_name(++fc_index);
        if (id == last_fc && !options.keep_source_output && !stop_early) {
            add(name, "classifier", {kind::linear, LinearArgs{shape[0], options.classes, false}.json(), {}});
            head.new_layers.push_back(name);
            return 0;
        }
        const bool relu = next_is(id, kind::relu);
        t.args["relu"] = relu;
        add(name, "classifier", std::move(t));
        if (options.dropout > 0 && id + (relu ? 1 : 0) < last_fc && !stop_early)
            add("classifier.dropout" + std::to_string(fc_index), "classifier",
                {kind::dropout,
                 DropoutArgs{options.dropout, options.seed * 1000 + static_cast<std::uint64_t>(fc_index)}.json(),
                 {}});
        return relu ? 1 : 0;
    }

    // Translates source layer `id`; returns how many following layers it absorbed (a fused ReLU).
    int translate(int id, const std::string& block) {
        cv::Ptr<cv::dnn::Layer> layer = net.getLayer(id);
        const std::string& type = map.layer_types[static_cast<size_t>(id)];
        const LayerKind* recogniser = layer_kind_for_opencv(type);
        if (!recogniser) throw Error("layer " + layer->name + " (" + type + ") cannot be trained by cvtl");
        read_inputs_of(id);
        Translation t = recogniser->translate(*layer, shape);
        if (t.kind.empty()) return 0;  // nothing to train: its value is what it read
        if (t.kind == kind::flatten) return flatten(), 0;
        if (t.kind == kind::linear) return fully_connected(id, std::move(t));
        const bool fuse = layer_kind(t.kind).fuses_relu() && next_is(id, kind::relu);
        if (fuse) t.args["relu"] = true;
        const std::string name = layer_kind(t.kind).layer_name(block, ++ordinal[t.kind], id);
        add(name, block, std::move(t));
        return fuse ? 1 : 0;
    }

    void run(int from_id) {
        std::string current_block;
        for (int id = from_id + 1; id <= last; ++id) {
            const std::string block = block_of(id);
            if (block != current_block) {
                current_block = block;
                ordinal.clear();
            }
            const int absorbed = translate(id, block);
            for (int k = id; k <= id + absorbed; ++k) value[k] = reads.at(0);
            id += absorbed;
        }
    }
};

}  // namespace

Head build_head(cv::dnn::Net& net, const BlockMap& map, const HeadOptions& options) {
    if (options.classes < 2 && !options.keep_source_output && options.until_tap.empty())
        throw Error("the new classifier needs at least 2 classes, got " + std::to_string(options.classes));
    const Tap& from = map.tap(options.from_tap);
    if (tap::in_classifier(from.name) && from.name != tap::features)
        throw Error("tap " + from.name +
                    " is inside the classifier; train from input or a block's output, or use a linear probe ({head} "
                    "linear)");
    Builder b{net, map, options};
    b.head.spec.input_shape = from.shape;
    b.head.spec.input_tap = from.name;
    b.last_fc = map.tap(tap::logits).layer_id;
    b.stop_early = !options.until_tap.empty();
    b.last = b.stop_early ? map.tap(options.until_tap).layer_id : b.last_fc;
    b.value[from.layer_id] = kNetworkInput;
    b.shape_of[kNetworkInput] = from.shape;
    b.run(from.layer_id);
    return b.head;
}

int head_layer_at_tap(const NetworkSpec& spec, const std::string& tap) {
    const int depth = tap::depth(tap);
    const auto& layers = spec.layers;
    for (size_t i = layers.size(); i-- > 0;) {
        // A block's output is its last layer (a VGG block's max-pool); the features are what the
        // classifier's first fully connected layer reads; the logits are the last one's output.
        const bool last_of_block = depth >= 1 && depth <= 5 && layers[i].block == tap::block_name(depth);
        const bool hidden =
            (tap == tap::hidden(1) || tap == tap::hidden(2)) && layers[i].name == fully_connected_name(tap::depth(tap));
        const bool features = tap == tap::features && layers[i].block == "classifier" &&
                              std::none_of(layers.begin(), layers.begin() + static_cast<long>(i) + 1,
                                           [](const LayerSpec& l) { return l.type == kind::linear; });
        const bool logits = tap == tap::logits && layer_is(layers, i, kind::linear);
        if (last_of_block || hidden || features || logits) return static_cast<int>(i);
    }
    throw Error("the network does not reach tap " + tap);
}

Head build_linear_probe(const std::string& tap, const std::vector<int>& tap_shape, int classes) {
    if (classes < 2) throw Error("the new classifier needs at least 2 classes, got " + std::to_string(classes));
    Head head{};
    head.spec.input_shape = tap_shape;
    head.spec.input_tap = tap;
    const int features = static_cast<int>(shape_count(tap_shape));
    if (tap_shape.size() > 1)
        head.spec.layers.push_back({"probe.flatten", "classifier", kind::flatten, nlohmann::json::object()});
    head.spec.layers.push_back(
        {"probe.linear", "classifier", kind::linear, LinearArgs{features, classes, false}.json()});
    head.new_layers.push_back("probe.linear");
    return head;
}

}  // namespace cvtl
