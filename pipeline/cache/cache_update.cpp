#include "pipeline/cache/cache_update.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/cache_info.hpp"
#include "pipeline/cache/cache_rows.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"
#include "plugin/thread_policy.hpp"

#include <boost/filesystem.hpp>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <chrono>
#include <unordered_map>

namespace cvtl {
namespace {

namespace fs = boost::filesystem;

// The scratch is read once, into the new cache, then removed: one file is the simplest to remove.
constexpr CacheWriter::Assembly kScratchAssembly = CacheWriter::Assembly::copy;

// The previous cache: what every row was made from.
struct OldRows {
    CacheProgress progress;
    std::vector<std::int32_t> labels;
    std::vector<std::uint8_t> splits;
    std::vector<FileStamp> stamps;
    std::unique_ptr<RowSource> source;
};

// Everything but the dataset must match: the same checks a resumed extraction makes.
OldRows open_old(const std::string& path, const CacheConfig& config) {
    const CacheInfo info = read_cache_info(path);
    require_row_files(info);
    if (info.version < 2)
        throw Error("cache " + path + " was made by a cvtl without per-file stamps (format version " +
                    std::to_string(info.version) + "), so it cannot be updated; extract it again with {force}");
    if (!info.complete)
        throw Error("cache " + path +
                    " is unfinished; complete it first by re-running the extraction without {update}");
    CacheConfig old = config;
    old.dataset_fingerprint = info.attributes.value(cache::kAttrDatasetFingerprint, std::string());
    old.dataset_size = info.dataset_size;
    OldRows rows;
    rows.progress = check_cache_file(path, old, "extract into another {output} path, or pass {force} to replace it");
    rows.source = std::make_unique<RowSource>(path, old, rows.progress);
    rows.source->read_index(rows.labels, rows.splits, rows.stamps);
    return rows;
}

// Every file's stamp now, read in parallel (hashing reads every file once: far cheaper than the
// network, and the only way to catch content rewritten under the same size and mtime).
std::vector<FileStamp> stamp_all(const Dataset& data, int threads) {
    std::vector<FileStamp> stamps(data.samples.size());
    oneapi::tbb::task_arena arena(resolve_threads(threads));
    arena.execute([&] {
        oneapi::tbb::parallel_for(size_t(0), stamps.size(), [&](size_t i) {
            stamps[i] = stamp_file(data.file(data.samples[i]), data.max_image_bytes);
        });
    });
    return stamps;
}

// Per sample: its row in the old cache when the file, its label and its split are unchanged, else -1.
std::vector<std::int64_t> match_rows(const Dataset& data, const std::vector<FileStamp>& now, const OldRows& old) {
    std::unordered_map<std::string, std::int64_t> row_of;
    const auto& paths = old.source->paths();
    for (size_t r = 0; r < paths.size(); ++r) row_of.emplace(paths[r], static_cast<std::int64_t>(r));
    std::vector<std::int64_t> match(data.samples.size(), -1);
    for (size_t i = 0; i < data.samples.size(); ++i) {
        const Sample& s = data.samples[i];
        const auto it = row_of.find(s.path);
        if (it == row_of.end()) continue;
        const auto r = static_cast<size_t>(it->second);
        if (old.labels[r] == s.label && old.splits[r] == static_cast<std::uint8_t>(s.split) && !now[i].sha256.empty() &&
            old.stamps[r] == now[i])
            match[i] = it->second;
    }
    return match;
}

// The samples to extract: new, changed, and files skipped before (retried: they may be fixed).
Dataset changed_samples(const Dataset& data, const std::vector<std::int64_t>& match) {
    Dataset changed = data;
    changed.samples.clear();
    for (size_t i = 0; i < data.samples.size(); ++i)
        if (match[i] < 0) changed.samples.push_back(data.samples[i]);
    return changed;
}

// Nothing to do when every row is kept and every other sample is a file the old cache skipped.
bool up_to_date(const Dataset& changed, std::int64_t kept, const OldRows& old) {
    if (kept != old.progress.rows) return false;
    const CacheRows skipped = old.source->skipped();
    std::unordered_map<std::string, int> was_skipped;
    for (const auto& p : skipped.skipped_paths) ++was_skipped[p];
    for (const Sample& s : changed.samples)
        if (!was_skipped.count(s.path)) return false;
    return changed.samples.size() == skipped.skipped_paths.size();
}

// Extracts the changed samples into the scratch cache, resuming an interrupted update of the same
// changes; a scratch left by an update of other changes is discarded.
void extract_changes(const std::string& scratch, const RowExtraction& job, const CacheConfig& config,
                     const Events& events, ExtractSummary& summary) {
    std::unique_ptr<CacheWriter> writer;
    try {
        writer = std::make_unique<CacheWriter>(scratch, config, false, kScratchAssembly);
    } catch (const Error&) {
        events.warning("discarding " + scratch + ", left by an interrupted update of other changes");
        writer = std::make_unique<CacheWriter>(scratch, config, true, kScratchAssembly);
    }
    summary.resumed_from = writer->done();
    if (writer->state() == CacheWriter::State::AlreadyComplete) return;
    const RowExtraction changes{job.data, job.pre, job.engine, config, job.batch, job.threads, "update"};
    summary.add_times(extract_rows(changes, *writer, events, summary));
    writer->finish();
}

// One contiguous run of rows of one source, appended as a block.
struct Run {
    const RowSource* source = nullptr;
    std::int64_t begin = 0, count = 0;
};

// Writes the new cache: rows in dataset order, each from the old cache or from the scratch.
void assemble(const std::string& tmp, const CacheConfig& config, const Dataset& data,
              const std::vector<std::int64_t>& match, const RowSource& old, const RowSource& fresh) {
    CacheFile out(tmp, config);
    CacheRows skipped = fresh.skipped();
    skipped.inputs = static_cast<std::int64_t>(skipped.skipped_paths.size());
    out.append(skipped);
    const std::int64_t block = old.block_rows();
    Run run;
    const auto flush = [&] {
        if (run.count > 0) out.append(run.source->read(run.begin, run.count));
        run = {};
    };
    size_t next_fresh = 0;
    for (size_t i = 0; i < data.samples.size(); ++i) {
        Run here{&old, match[i], 1};
        if (match[i] < 0) {
            if (next_fresh >= fresh.paths().size() || fresh.paths()[next_fresh] != data.samples[i].path)
                continue;  // skipped again
            here = {&fresh, static_cast<std::int64_t>(next_fresh++), 1};
        }
        if (run.source != here.source || run.begin + run.count != here.begin || run.count >= block) flush();
        if (run.count == 0) run = {here.source, here.begin, 0};
        ++run.count;
    }
    flush();
    out.seal();
}

CacheConfig changes_config(const CacheConfig& config, const Dataset& changed) {
    CacheConfig c = config;
    c.dataset_fingerprint = changed.fingerprint();
    c.dataset_size = static_cast<std::int64_t>(changed.samples.size());
    return c;
}

}  // namespace

ExtractSummary update_cache(const std::string& path, const RowExtraction& job, const Events& events) {
    const auto start = std::chrono::steady_clock::now();
    ExtractSummary summary;
    summary.updated = true;
    summary.backend = job.engine.description();
    finish_interrupted_map(path);  // the assembly below writes PATH.tmp: never over a finished extraction's map
    const OldRows old = open_old(path, job.config);
    const std::vector<std::int64_t> match = match_rows(job.data, stamp_all(job.data, job.threads), old);
    const Dataset changed = changed_samples(job.data, match);
    summary.reused = static_cast<std::int64_t>(job.data.samples.size() - changed.samples.size());
    summary.removed = old.progress.rows - summary.reused;
    const std::string scratch = update_scratch(path);
    if (up_to_date(changed, summary.reused, old)) {
        fs::remove(scratch);  // the previous update finished but was killed before tidying up
        summary.already_complete = true;
        summary.rows = old.progress.rows;
        return summary;
    }
    const CacheConfig scratch_config = changes_config(job.config, changed);
    const RowExtraction changes{changed, job.pre, job.engine, job.config, job.batch, job.threads, "update"};
    extract_changes(scratch, changes, scratch_config, events, summary);
    try {
        const RowSource fresh(scratch, scratch_config,
                              check_cache_file(scratch, scratch_config, "re-run the same command"));
        assemble(path + ".tmp", job.config, job.data, match, *old.source, fresh);
    } catch (const H5::Exception& e) {
        throw Error("cannot assemble the updated cache " + path + ": " + e.getDetailMsg() + " (is the disk full? " +
                    path + " is unchanged and the extracted rows are kept in " + scratch +
                    ": re-run the same command)");
    }
    const std::vector<std::string> replaced = rows_dirs_of(path);
    commit_file(path + ".tmp", path);
    remove_rows_dirs(replaced);  // the new cache is one file: the old one's rows are all in it
    fs::remove(scratch);
    summary.rows = read_cache_info(path).rows;
    summary.bytes_written = static_cast<std::uint64_t>(fs::file_size(path));
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace cvtl
