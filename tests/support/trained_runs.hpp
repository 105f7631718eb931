#pragma once
#include "pipeline/train/classifier_head.hpp"
#include "pipeline/train/strategy.hpp"
#include "support/fixtures.hpp"

#include <opencv2/core.hpp>

#include <string>

namespace cvtl::test {

// tiny_vgg16 over the fixture images into DIR/cache.h5 with taps input,pool3,pool4,pool5,fc7,logits
// (a quarter of each class for validation). Returns the cache path.
std::string fixture_cache(const TempDir& dir);

// Trains DIR/NAME from `cache` with Adam for `epochs` epochs; returns the run directory.
std::string train_fixture_run(const std::string& cache, const std::string& run_dir, Strategy strategy,
                              ClassifierHead head = ClassifierHead::source, int from_block = 5, int epochs = 8);

// What an export of `run` (made from tiny_vgg16) must compute, from independent pieces: stock OpenCV
// runs the source model up to the run's tap on `images`, then the trained layers (from model.h5)
// run in cvtl, then softmax.
cv::Mat expected_probabilities(const std::string& run, const cv::Mat& images);

}  // namespace cvtl::test
