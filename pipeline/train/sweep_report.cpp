#include "pipeline/train/sweep_report.hpp"
#include "plugin/tap_name.hpp"

#include "pipeline/report/chart.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/data/csv_writer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>

namespace cvtl {
namespace {

std::string format(const char* fmt, double v) {
    char s[64];
    std::snprintf(s, sizeof s, fmt, v);
    return s;
}

std::string score_text(const SweepTrial& t) {
    if (t.folds.empty()) return "–";
    return format("%.4f", t.score) + (t.folds.size() > 1 ? " ± " + format("%.4f", t.spread) : "");
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    if (!out) throw Error("cannot write " + path + " (disk full or no permission?)");
}

std::string csv(const SweepSummary& s) {
    std::string out =
        "rank,candidate,family,tap,cut,lr,score,spread,folds,chosen_epoch,epochs,val_loss,trained_parameters,seconds,"
        "predicted_fold_seconds,status,note\n";
    for (size_t i = 0; i < s.trials.size(); ++i) {
        const SweepTrial& t = s.trials[i];
        out += std::to_string(i + 1) + "," + csv_field(t.candidate.name) + "," + t.candidate.family + "," +
               t.candidate.tap + "," + std::to_string(t.candidate.cut) + "," + format("%g", t.candidate.lr) + "," +
               (t.folds.empty() ? "," : format("%.6f", t.score) + "," + format("%.6f", t.spread)) + "," +
               std::to_string(t.folds.size()) + "," + std::to_string(t.chosen_epoch) + "," + std::to_string(t.epochs) +
               "," + (t.folds.empty() ? "" : format("%.6f", t.loss)) + "," + std::to_string(t.trained_parameters) +
               "," + format("%.2f", t.seconds) + "," + format("%.2f", t.predicted_fold_seconds) + "," +
               to_string(t.status) + "," + csv_field(t.note) + "\n";
    }
    return out;
}

std::string ranking(const SweepSummary& s) {
    std::string out =
        "| rank | candidate | tap | lr | score | folds | epoch | val loss | trained parameters | seconds | s per fold: "
        "actual / predicted | status |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for (size_t i = 0; i < s.trials.size(); ++i) {
        const SweepTrial& t = s.trials[i];
        out += "| " + std::to_string(i + 1) + " | " +
               (static_cast<int>(i) == s.winner ? "**" + t.candidate.name + "**" : t.candidate.name) + " | " +
               t.candidate.tap + " | " + format("%g", t.candidate.lr) + " | " + score_text(t) + " | " +
               std::to_string(t.folds.size()) + " | " +
               (t.folds.empty() ? "–" : std::to_string(t.chosen_epoch) + "/" + std::to_string(t.epochs)) + " | " +
               (t.folds.empty() ? "–" : format("%.4f", t.loss)) + " | " + std::to_string(t.trained_parameters) + " | " +
               format("%.1f", t.seconds) + " | " +
               (t.folds.empty() ? "–" : format("%.1f", t.seconds / static_cast<double>(t.folds.size()))) + " / " +
               format("%.1f", t.predicted_fold_seconds) + " | " + to_string(t.status) +
               (t.note.empty() ? "" : ": " + t.note) + " |\n";
    }
    return out;
}

// Best scored trial per family, the score ranking them evaluated on the same number of folds or not.
std::map<std::string, const SweepTrial*> best_per_family(const SweepSummary& s) {
    std::map<std::string, const SweepTrial*> best;
    for (const auto& t : s.trials)
        if (!t.folds.empty() && (!best.count(t.candidate.family) || t.score > best[t.candidate.family]->score))
            best[t.candidate.family] = &t;
    return best;
}

std::string findings(const SweepSummary& s) {
    if (s.winner < 0) return "- No candidate finished; nothing was chosen.\n";
    const SweepTrial& w = s.trials[static_cast<size_t>(s.winner)];
    std::string out =
        "- Chosen: **" + w.candidate.name + "** (" + w.candidate.family + " reading " + w.candidate.tap +
        "), validation score " + score_text(w) + " over " + std::to_string(w.folds.size()) + " fold(s) at epoch " +
        std::to_string(w.chosen_epoch) + " of " + std::to_string(w.epochs) +
        (s.final_run.empty() ? "; not retrained (the caller asked for the ranking only).\n"
                             : "; retrained on all " + std::to_string(s.labelled_rows) + " labelled samples for " +
                                   std::to_string(w.chosen_epoch) + " epochs.\n");
    for (const auto& [family, t] : best_per_family(s)) {
        if (t == &w) continue;
        const double gap = 100 * (w.score - t->score);
        out += "- Best " + family + ": " + t->candidate.name + " at " + format("%.4f", t->score) + " (" +
               std::to_string(t->folds.size()) + " fold(s)), " +
               (gap >= 0 ? format("%.1f", gap) + " points below the chosen one"
                         : format("%.1f", -gap) + " points above it on fewer folds") +
               ".\n";
    }
    int skipped = 0, failed = 0, eliminated = 0;
    for (const auto& t : s.trials)
        skipped += t.status == TrialStatus::skipped || t.status == TrialStatus::cut,
            failed += t.status == TrialStatus::failed, eliminated += t.status == TrialStatus::eliminated;
    if (eliminated)
        out += "- " + std::to_string(eliminated) +
               " candidates stopped early by successive halving (their score is over fewer folds).\n";
    if (skipped) out += "- " + std::to_string(skipped) + " candidates were not finished within the time budget.\n";
    if (failed) out += "- " + std::to_string(failed) + " candidates failed (see their status).\n";
    return out;
}

// Best score per family at each cut point: x runs from the input to the deepest cut that was trained.
LineChart cut_chart(const SweepSummary& s) {
    std::vector<std::string> read;
    for (const auto& t : s.trials) read.push_back(t.candidate.tap);
    const std::vector<std::string>& taps = tap::all(tap::style_of(read));
    int last = 0, scored = 0;
    for (const auto& t : s.trials)
        if (!t.folds.empty())
            last = std::max(last, std::min(t.candidate.cut, static_cast<int>(taps.size()) - 1)), ++scored;
    LineChart c;
    c.title = "best score by cut point, " + std::to_string(scored) + " candidates scored on " + s.mode;
    c.x.label = "tap the trained part reads";
    c.y.label = "validation accuracy (fraction)";
    c.x_categories.assign(taps.begin(), taps.begin() + last + 1);
    std::map<std::string, std::vector<double>> lines;
    for (const auto& t : s.trials) {
        if (t.folds.empty() || t.candidate.cut < 0 || t.candidate.cut > last) continue;
        auto& v = lines[t.candidate.family];
        v.resize(c.x_categories.size(), std::nan(""));
        double& at = v[static_cast<size_t>(t.candidate.cut)];
        if (std::isnan(at) || t.score > at) at = t.score;
    }
    for (const auto& [family, values] : lines) c.series.push_back({family, values});
    return c;
}

}  // namespace

std::string sweep_markdown(const SweepSummary& s) {
    std::string out = "# cvtl sweep\n\nCandidates were scored on " + s.mode + ", never on test data; " +
                      std::to_string(s.trainings) + " trainings ran" +
                      (s.resumed ? " (" + std::to_string(s.resumed) + " fold results resumed)" : "") + " in " +
                      format("%.1f", s.seconds) + " s" +
                      (s.budget_seconds > 0 ? " of a " + format("%.0f", s.budget_seconds) + " s budget" : "") + ".\n\n";
    if (!s.plan.candidates.empty())
        out += "The plan, measured in " + format("%.1f", s.plan.calibration_seconds) +
               " s before any candidate trained, predicted " + format("%.0f", s.plan.total_seconds) +
               " s for every rung" + (s.final_run.empty() ? "" : ", the retraining and the export") +
               ", if nothing was skipped.\n\n";
    if (s.directory_bytes > 0)
        out += "The sweep directory holds " +
               format("%.1f", static_cast<double>(s.directory_bytes) / (1024.0 * 1024.0)) +
               " MiB besides these reports: each fold keeps its curves and metrics only" +
               (s.final_run.empty() ? std::string(".\n\n") : std::string(", the retrained winner its model.h5.\n\n"));
    if (s.winner >= 0 && !s.onnx.empty())
        out += "Exported: `" + s.onnx + "` (sidecar `" + s.sidecar + "`), from `" + s.final_run +
               "`; cv::dnn matches cvtl within " + format("%.2g", s.export_difference) + ".\n\n";
    out += "## What the numbers say\n\n" + findings(s) + "\n## Ranking\n\n" + ranking(s) +
           "\nScore: mean validation accuracy over the folds at the epoch with the best mean (ties: lower mean "
           "validation loss), ± the "
           "standard deviation over folds.\n\n![score by cut point](sweep.png)\n";
    return out;
}

std::string sweep_ranking_table(const SweepSummary& s) { return ranking(s); }

void write_sweep_reports(const SweepSummary& s, const std::string& dir) {
    write_text(dir + "/sweep.csv", csv(s));
    write_text(dir + "/sweep.md", sweep_markdown(s));
    write_chart_png(dir + "/sweep.png", render_line_chart(cut_chart(s)));
}

}  // namespace cvtl
