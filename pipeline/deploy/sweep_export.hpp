#pragma once
// The export step cvtl sweep hands its retrained winner to (train/ cannot reach deploy/): the run
// exported as cvtl export would, replacing any earlier export in the sweep's directory.
#include "pipeline/train/sweep.hpp"

namespace cvtl {

SweepExportStep sweep_export_step();

}  // namespace cvtl
