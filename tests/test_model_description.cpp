#include "pipeline/deploy/model_description.hpp"
#include "pipeline/core/error.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

using namespace cvtl;

namespace {

nlohmann::json good_sidecar() {
    return {{"format", "cvtl-model"},
            {"classes", {"cat", "dog"}},
            {"preprocess", make_preprocessing(Preset::torchvision, 32).to_json()}};
}

void refused(const nlohmann::json& sidecar, const char* why) {
    CAPTURE(sidecar.dump());
    CHECK_THROWS_WITH_AS(parse_sidecar(sidecar.dump(), "m.json"), doctest::Contains(why), Error);
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("a sidecar as export writes it is read back") {
        const ModelDescription d = parse_sidecar(good_sidecar().dump(), "m.json");
        CHECK(d.classes == std::vector<std::string>{"cat", "dog"});
        CHECK(d.preprocess == make_preprocessing(Preset::torchvision, 32));
    }

    TEST_CASE("a damaged or foreign sidecar names the file and is refused") {
        CHECK_THROWS_WITH_AS(parse_sidecar("{not json", "m.json"),
                             doctest::Contains("m.json is not a cvtl model sidecar"), Error);
        CHECK_THROWS_WITH_AS(parse_sidecar("[1,2]", "m.json"), doctest::Contains("not a cvtl model sidecar"), Error);
        nlohmann::json j = good_sidecar();
        j["format"] = "something-else";
        refused(j, "not a cvtl model sidecar");
        j = good_sidecar();
        j["classes"] = "cat";
        refused(j, "\"classes\" must be a list");
        j["classes"] = nlohmann::json::array();
        refused(j, "lists 0 classes");
        j["classes"] = {"cat", "cat"};
        refused(j, "lists class 'cat' twice");
        j["classes"] = {"cat", ""};
        refused(j, "empty class name");
        j = good_sidecar();
        j["preprocess"]["size"] = 37838;  // the audit's sidecar: used to reach OpenCV with a negative total
        refused(j, "m.json: its preprocessing record is invalid");
        j = good_sidecar();
        j.erase("preprocess");
        refused(j, "m.json: its preprocessing record is malformed");
    }

    TEST_CASE("ONNX metadata is validated like the sidecar") {
        ModelDescription d;
        CHECK_FALSE(parse_metadata({{"other", "x"}}, "m.onnx", d));
        const std::string pre = make_preprocessing(Preset::caffe, 64).to_json().dump();
        REQUIRE(parse_metadata({{"cvtl.classes", R"(["a","b","c"])"}, {"cvtl.preprocess", pre}}, "m.onnx", d));
        CHECK(d.classes.size() == 3);
        CHECK(d.preprocess.size == 64);
        for (const auto& entry : std::vector<std::pair<std::string, std::string>>{{R"(["a")", pre},
                                                                                  {R"({"a":1})", pre},
                                                                                  {R"(["a","a"])", pre},
                                                                                  {R"([])", pre},
                                                                                  {R"(["a"])", "{}"},
                                                                                  {R"(["a"])", "7"}}) {
            const std::string& classes = entry.first;
            const std::string& preprocess = entry.second;
            CAPTURE(classes);
            CAPTURE(preprocess);
            CHECK_THROWS_WITH_AS(
                parse_metadata({{"cvtl.classes", classes}, {"cvtl.preprocess", preprocess}}, "m.onnx", d),
                doctest::Contains("m.onnx"), Error);
        }
        CHECK_THROWS_AS(parse_metadata({{"cvtl.classes", R"(["a"])"}}, "m.onnx", d), Error);
    }

}  // TEST_SUITE
