// Writes a VGG-16-layout ONNX model with fresh random weights (torchvision's initialisation) at any
// width, through cvtl's own exporter: a benchmark model that needs neither Python nor a download.
// The speed guard (guard_extract.sh) uses a half-width one at 224 pixels, whose convolutions are wide
// enough for the fast path's Winograd choice to matter as it does in the full VGG-16.
//   cvtl_make_vgg16 OUT.onnx [--width 0.5] [--size 224] [--classes 10] [--seed 0]
#include "pipeline/engine/weights.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/onnx_export.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace {

cvtl::NetworkSpec vgg16(double width, int size, int classes) {
    const int widths[5] = {64, 128, 256, 512, 512}, convs[5] = {2, 2, 3, 3, 3};
    cvtl::NetworkSpec spec;
    spec.input_shape = {3, size, size};
    spec.input_tap = "input";
    int in = 3;
    for (int b = 0; b < 5; ++b) {
        const std::string block = "block" + std::to_string(b + 1);
        const int out = std::max(1, static_cast<int>(widths[b] * width));
        for (int c = 0; c < convs[b]; ++c) {
            spec.layers.push_back(
                {block + ".conv" + std::to_string(c + 1),
                 block,
                 "conv2d",
                 {{"in", in}, {"out", out}, {"kernel", 3}, {"stride", 1}, {"pad", 1}, {"relu", true}}});
            in = out;
        }
        spec.layers.push_back(
            {block + ".pool", block, "max_pool", {{"kernel", 2}, {"stride", 2}, {"pad", 0}, {"ceil", false}}});
        size /= 2;
    }
    spec.layers.push_back({"classifier.flatten", "classifier", "flatten", nlohmann::json::object()});
    spec.layers.push_back(
        {"classifier.fc8", "classifier", "linear", {{"in", in * size * size}, {"out", classes}, {"relu", false}}});
    return spec;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Write a VGG-16-layout ONNX model with random weights"};
    std::string out;
    double width = 0.5;
    int size = 224, classes = 10;
    std::uint64_t seed = 0;
    app.add_option("output", out, "ONNX file to write")->required();
    app.add_option("--width", width, "Channel multiplier (1: VGG-16's 64..512)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 1.0));
    app.add_option("--size", size, "Input size (a multiple of 32)")->capture_default_str()->check(CLI::Range(32, 1024));
    app.add_option("--classes", classes, "Outputs of the classifier")
        ->capture_default_str()
        ->check(CLI::Range(2, 100000));
    app.add_option("--seed", seed, "Seed of the weights")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        const cvtl::NetworkSpec spec = vgg16(width, size, classes);
        const std::string bytes = cvtl::serialize_onnx(spec, cvtl::fresh_weights(spec, seed), {});
        std::ofstream file(out, std::ios::binary);
        file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        if (!file.flush()) throw cvtl::Error("cannot write " + out);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl_make_vgg16: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
