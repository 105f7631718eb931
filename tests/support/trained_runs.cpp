#include "support/trained_runs.hpp"

#include "pipeline/cache/extractor.hpp"
#include "pipeline/train/run_state.hpp"
#include "pipeline/train/trainer.hpp"
#include "plugin/block_map.hpp"
#include "pipeline/engine/layers/softmax_cross_entropy.hpp"
#include "plugin/model_loader.hpp"
#include "pipeline/engine/network.hpp"
#include "plugin/tap_forward.hpp"

namespace cvtl::test {

std::string fixture_cache(const TempDir& dir) {
    ExtractOptions o;
    o.model = fixture("tiny_vgg16.onnx");
    o.data = fixture("images");
    o.output = dir / "cache.h5";
    o.taps = {"input", "pool3", "pool4", "pool5", "fc7", "logits"};
    o.batch = 4;
    o.threads = 2;
    o.val_fraction = 0.25;
    run_extraction(o, {});
    return o.output;
}

std::string train_fixture_run(const std::string& cache, const std::string& run_dir, Strategy strategy,
                              ClassifierHead head, int from_block, int epochs) {
    TrainOptions o;
    o.cache = cache;
    o.output = run_dir;
    o.strategy = strategy;
    o.head = head;
    o.from_block = from_block;
    o.epochs = epochs;
    o.batch = 4;
    o.threads = 2;
    o.optimizer.kind = OptimizerKind::adam;
    o.schedule.base_lr = 3e-3;
    o.dropout = 0.0f;
    o.seed = 1;
    o.force = true;
    run_training(o, {});
    return run_dir;
}

cv::Mat expected_probabilities(const std::string& run, const cv::Mat& images) {
    const RunState state = load_run_state(run + "/model.h5");
    const std::string tap = state.meta.at("tap");
    SourceModel source = load_model(fixture("tiny_vgg16.onnx"));
    BlockMap map = map_vgg_blocks(source.net, 64, "tiny_vgg16");
    const cv::Mat features = forward_taps(source.net, map, {tap}, images)[0];
    Network trained(NetworkSpec::from_json(state.spec));
    load_weights(trained, state.weights);
    return softmax_rows(trained.forward(features, false));
}

}  // namespace cvtl::test
