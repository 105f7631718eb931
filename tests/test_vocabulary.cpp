// The typed vocabulary (pipeline/core/vocabulary.hpp): every name round-trips, an unknown one is a
// one-line error listing the accepted names, and a bad name read from a file names the file.
#include "pipeline/cache/dtype.hpp"
#include "pipeline/cache/engine.hpp"
#include "pipeline/data/preset.hpp"
#include "pipeline/deploy/exporter.hpp"
#include "pipeline/engine/layers/precision.hpp"
#include "pipeline/engine/optimizer_kind.hpp"
#include "pipeline/engine/schedule_kind.hpp"
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/strategy.hpp"
#include "pipeline/train/trial_status.hpp"
#include "plugin/backend.hpp"
#include "plugin/model_format.hpp"
#include "support/fixtures.hpp"
#include "support/subprocess.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

using namespace cvtl;

namespace {

// Each value's name parses back to it; names are unique; an unknown name throws one line that names
// the concept, the value and every accepted name, and the source when one is given.
template <typename E, std::size_t N>
void check_vocabulary(const NameTable<E, N>& table, E (*parse)(const std::string&, const std::string&),
                      const std::string& concept) {
    std::set<std::string> names;
    for (const auto& entry : table) {
        CAPTURE(entry.name);
        CHECK(std::string(to_string(entry.value)) == entry.name);
        CHECK(parse(entry.name, "") == entry.value);
        CHECK(names.insert(entry.name).second);
    }
    for (const std::string& source : {std::string(), std::string("/runs/a/model.h5")}) {
        try {
            parse("no-such-name", source);
            FAIL("an unknown name was accepted");
        } catch (const Error& e) {
            const std::string message = e.what();
            CAPTURE(message);
            CHECK(message.find('\n') == std::string::npos);
            CHECK(message.find("unknown " + concept + " 'no-such-name'") != std::string::npos);
            for (const auto& entry : table) CHECK(message.find(entry.name) != std::string::npos);
            const bool names_source = message.find("/runs/a/model.h5") != std::string::npos;
            CHECK(names_source == !source.empty());
        }
    }
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("every vocabulary round-trips through to_string and parse - and refuses unknown names") {
        check_vocabulary(kStrategyNames, parse_strategy, "'strategy'");
        check_vocabulary(kClassifierHeadNames, parse_classifier_head, "'head'");
        check_vocabulary(kTrialStatusNames, parse_trial_status, "trial status");
        check_vocabulary(kDtypeNames, parse_dtype, "'dtype'");
        check_vocabulary(kEngineNames, parse_engine, "'engine'");
        check_vocabulary(kBackendNames, parse_backend, "'backend'");
        check_vocabulary(kPrecisionNames, parse_precision, "'precision'");
        check_vocabulary(kRunKindNames, parse_run_kind, "run file kind");
        check_vocabulary(kModelFormatNames, parse_model_format, "model format");
        check_vocabulary(kOptimizerKindNames, parse_optimizer_kind, "'optimizer'");
        check_vocabulary(kScheduleKindNames, parse_schedule_kind, "'schedule'");
        check_vocabulary(kPresetNames, parse_preset, "preprocessing preset");
    }

    TEST_CASE("the names are the ones on disk and on the command line") {
        CHECK(std::string(to_string(Backend::cuda_fp16)) == "cuda-fp16");
        CHECK(names_in(kStrategyNames) == "classifier, finetune or scratch");
        CHECK_THROWS_WITH_AS(parse_strategy("transfer"),
                             "unknown 'strategy' 'transfer' (expected classifier, finetune or scratch)", Error);
    }

    TEST_CASE("a run whose recorded strategy is unknown is refused by export - naming the file") {
        test::TempDir dir;
        RunState s;
        s.meta = {{"strategy", "transfer"}, {"tap", "pool5"}};
        s.spec = {{"layers", nlohmann::json::array()}};
        std::filesystem::create_directories(dir / "run");
        save_run_state(dir / "run/model.h5", s);
        ExportOptions o;
        o.run = dir / "run";
        o.output = dir / "m.onnx";
        const std::string expected = "unknown 'strategy' 'transfer' in " + (dir / "run/model.h5");
        CHECK_THROWS_WITH_AS(run_export(o), doctest::Contains(expected.c_str()), Error);
    }

    TEST_CASE("the CLI refuses an unknown name as a bad option value - naming the flag and the choices") {
        const auto r = test::run_cvtl({"train", "c.h5", "-o", "r", "--strategy", "transfer"});
        CAPTURE(r.err);
        CHECK(r.exit_code == 1);
        CHECK(r.err == "cvtl: error: unknown --strategy 'transfer' (expected classifier, finetune or scratch)\n");
        const auto backend = test::run_cvtl({"predict", "m.onnx", "x.png", "--backend", "tpu"});
        CHECK(backend.exit_code == 1);
        CHECK(backend.err.find("unknown --backend 'tpu' (expected cpu, opencl, cuda or cuda-fp16)") !=
              std::string::npos);
    }
}  // TEST_SUITE
