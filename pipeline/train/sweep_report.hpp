#pragma once
// The sweep's reports: sweep.csv (every trial, ranked), sweep.md (the ranked table, the winner and
// what the numbers say, every sentence computed from the scores) and sweep.png (score against cut
// point, one line per strategy).
#include "pipeline/train/sweep.hpp"

#include <string>

namespace cvtl {

void write_sweep_reports(const SweepSummary& summary, const std::string& dir);

// The markdown report alone (also what `cvtl sweep` summarises), and its ranking table.
std::string sweep_markdown(const SweepSummary& summary);
std::string sweep_ranking_table(const SweepSummary& summary);

}  // namespace cvtl
