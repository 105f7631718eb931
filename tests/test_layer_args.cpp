// Every layer kind reads its stored arguments into a typed struct with checks: a run file's network
// with a wrong argument is refused in one line naming the layer, the argument and what it must be.
#include "pipeline/core/error.hpp"
#include "pipeline/engine/network.hpp"

#include <doctest/doctest.h>

using namespace cvtl;

namespace {

NetworkSpec one_layer(const std::string& type, const nlohmann::json& args, std::vector<int> input = {3, 8, 8}) {
    NetworkSpec spec;
    spec.input_shape = std::move(input);
    spec.input_tap = "pool4";
    spec.layers.push_back({"block5.x", "block5", type, args});
    return spec;
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("a stored layer with a wrong argument is refused naming the layer, the argument and the rule") {
        const nlohmann::json conv = {{"in", 3}, {"out", 4}, {"kernel", 3}, {"stride", 1}, {"pad", 1}, {"relu", true}};
        CHECK_NOTHROW(Network(one_layer("conv2d", conv)));
        nlohmann::json bad = conv;
        bad["kernel"] = 0;
        CHECK_THROWS_WITH_AS(Network(one_layer("conv2d", bad)),
                             "layer block5.x: a conv2d's argument 'kernel' must be an integer from 1 to 2^30, found 0",
                             Error);
        bad = conv;
        bad["relu"] = "yes";
        CHECK_THROWS_WITH_AS(Network(one_layer("conv2d", bad)), doctest::Contains("'relu' must be true or false"),
                             Error);
        bad = conv;
        bad.erase("stride");
        CHECK_THROWS_WITH_AS(Network(one_layer("conv2d", bad)), doctest::Contains("found nothing"), Error);
        CHECK_THROWS_WITH_AS(Network(one_layer("dropout", {{"p", 1.5}, {"seed", 1}})),
                             doctest::Contains("argument 'p' must be a number from"), Error);
        CHECK_THROWS_WITH_AS(Network(one_layer("batch_norm", {{"channels", 3}, {"eps", -1}, {"momentum", 0.1}})),
                             doctest::Contains("a batch_norm's argument 'eps'"), Error);
        CHECK_THROWS_WITH_AS(Network(one_layer("linear", {{"in", 192}, {"out", 1e12}, {"relu", false}})),
                             doctest::Contains("a linear's argument 'out'"), Error);
    }

    TEST_CASE("max pooling stored before its ceil mode was recorded reads as floor mode") {
        const Network old(one_layer("max_pool", {{"kernel", 2}, {"stride", 2}, {"pad", 0}}, {3, 7, 7}));
        CHECK(old.output_shape() == std::vector<int>{3, 3, 3});
        const Network ceil(
            one_layer("max_pool", {{"kernel", 2}, {"stride", 2}, {"pad", 0}, {"ceil", true}}, {3, 7, 7}));
        CHECK(ceil.output_shape() == std::vector<int>{3, 4, 4});
    }
}  // TEST_SUITE
