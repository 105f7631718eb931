#pragma once
// One pass of a network over a batch stream in inference mode: the mean loss, the accuracy and the
// confusion matrix. The trainer's validation after each epoch; under mpirun each rank scores its
// slice of every batch and the sums are exchanged, so every rank gets the whole split's figures.
#include "pipeline/dist/communicator.hpp"
#include "pipeline/engine/network.hpp"
#include "pipeline/train/batch_stream.hpp"
#include "pipeline/train/run_report.hpp"

#include <cstddef>
#include <limits>

namespace cvtl {

struct EvalResult {
    double loss = std::numeric_limits<double>::quiet_NaN();  // NaN when the stream is empty
    double accuracy = std::numeric_limits<double>::quiet_NaN();
    Confusion confusion;  // [true][predicted]
};

EvalResult validation_pass(Network& net, BatchStream& stream, std::size_t classes, const Communicator& comm);

}  // namespace cvtl
