#include "pipeline/cache/cache_map.hpp"

#include "pipeline/cache/cache_file.hpp"
#include "pipeline/cache/cache_format.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/h5_virtual.hpp"
#include "pipeline/core/atomic_file.hpp"

#include <boost/filesystem.hpp>

namespace cvtl {

namespace fs = boost::filesystem;

std::string relative_to_output(const std::string& file, const std::string& output) {
    const fs::path dir = fs::absolute(output).parent_path();
    return fs::relative(fs::absolute(file), dir).generic_string();
}

namespace {

std::vector<h5::VirtualSource> vds_sources(const std::vector<MappedSource>& files, const std::string& dataset,
                                           bool views) {
    std::vector<h5::VirtualSource> out;
    for (const MappedSource& s : files)
        out.push_back({s.name, dataset, static_cast<hsize_t>(views ? s.view_rows : s.rows)});
    return out;
}

void map_samples(H5::H5File& file, const std::vector<MappedSource>& files) {
    H5::Group samples = file.createGroup(cache::kSamplesGroup);
    const std::pair<const char*, const H5::DataType*> columns[] = {
        {cache::kSamplesPath, &h5::vlen_string()},        {cache::kSamplesLabel, &H5::PredType::STD_I32LE},
        {cache::kSamplesSplit, &H5::PredType::STD_U8LE},  {cache::kSamplesSize, &H5::PredType::STD_U64LE},
        {cache::kSamplesMtime, &H5::PredType::STD_I64LE}, {cache::kSamplesSha256, &h5::vlen_string()}};
    for (const auto& c : columns)
        h5::create_virtual(samples, cache::leaf(c.first), *c.second, {}, vds_sources(files, c.first, false));
}

void map_taps(H5::H5File& file, const char* group, const CacheConfig& config, const std::vector<MappedSource>& files,
              bool views) {
    H5::Group taps = file.createGroup(group);
    const H5::DataType& stored = config.dtype == Dtype::f16
                                     ? static_cast<const H5::DataType&>(h5::float16())
                                     : static_cast<const H5::DataType&>(H5::PredType::IEEE_F32LE);
    for (const TapLayout& t : config.taps) {
        const std::vector<hsize_t> sample(t.shape.begin(), t.shape.end());
        H5::DataSet ds =
            h5::create_virtual(taps, t.name, stored, sample, vds_sources(files, cache::tap_path(group, t.name), views));
        h5::set_string(ds, cache::kAttrTapLayer, t.layer);
        h5::set_string(ds, cache::kAttrTapShape, nlohmann::json(sample).dump());
    }
}

// /views/sample names rows of its own file: shifted by the rows of the files before it, so it is
// stored, not mapped. /views/view is mapped.
void write_view_rows(H5::H5File& file, const std::vector<MappedSource>& files) {
    H5::Group views = file.createGroup(cache::kViewsGroup);
    std::vector<std::int64_t> rows;
    std::int64_t offset = 0;
    for (const MappedSource& s : files) {
        std::vector<std::int64_t> local(static_cast<size_t>(s.view_rows));
        if (!local.empty()) {
            const H5::H5File source(s.path, H5F_ACC_RDONLY);
            const H5::DataSet ds = source.openDataSet(cache::kViewsSample);
            H5::DataSpace space = ds.getSpace();
            const hsize_t start = 0, count = local.size();
            space.selectHyperslab(H5S_SELECT_SET, &count, &start);
            ds.read(local.data(), H5::PredType::NATIVE_INT64, H5::DataSpace(1, &count), space);
        }
        for (std::int64_t r : local) rows.push_back(r + offset);
        offset += s.rows;
    }
    H5::DataSet sample = h5::create_growing_1d(views, cache::leaf(cache::kViewsSample), H5::PredType::STD_I64LE, 4096);
    h5::write_rows(sample, 0, rows.size(), H5::PredType::NATIVE_INT64, rows.data());
    h5::create_virtual(views, cache::leaf(cache::kViewsIndex), H5::PredType::STD_U8LE, {},
                       vds_sources(files, cache::kViewsIndex, true));
}

void write_skipped_and_progress(H5::H5File& file, const std::vector<MappedSource>& files,
                                const std::vector<std::string>& names, const char* list_attr) {
    std::vector<std::string> paths, reasons;
    std::int64_t rows = 0, consumed = 0, views = 0;
    for (const MappedSource& s : files) {
        paths.insert(paths.end(), s.skipped_paths.begin(), s.skipped_paths.end());
        reasons.insert(reasons.end(), s.skipped_reasons.begin(), s.skipped_reasons.end());
        rows += s.rows, consumed += s.consumed, views += s.view_rows;
    }
    H5::Group skipped = file.createGroup(cache::kSkippedGroup);
    H5::DataSet p = h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedPath), h5::vlen_string(), 256),
                r = h5::create_growing_1d(skipped, cache::leaf(cache::kSkippedReason), h5::vlen_string(), 256);
    h5::write_strings(p, 0, paths);
    h5::write_strings(r, 0, reasons);
    H5::Group progress = file.createGroup(cache::kProgress);
    h5::set_int(progress, cache::kAttrDone, rows);
    h5::set_int(progress, cache::kAttrNextInput, consumed);
    h5::set_int(progress, cache::kAttrSkipped, static_cast<std::int64_t>(paths.size()));
    h5::set_int(progress, cache::kAttrViewRows, views);
    h5::set_string(file, list_attr, nlohmann::json(names).dump());
    h5::set_int(file, cache::kAttrComplete, 1);
}

}  // namespace

void write_mapped_cache(const std::string& tmp, const CacheConfig& config, const std::vector<MappedSource>& sources,
                        const char* list_attr) {
    h5::Lock lock;
    std::vector<std::string> names;
    for (const MappedSource& s : sources) names.push_back(s.name);
    {
        H5::H5File file(tmp, H5F_ACC_TRUNC);
        write_cache_header(file, config);
        map_samples(file, sources);
        map_taps(file, cache::kTapsGroup, config, sources, false);
        write_view_rows(file, sources);
        map_taps(file, cache::kViewTapsGroup, config, sources, true);
        write_skipped_and_progress(file, sources, names, list_attr);
        file.flush(H5F_SCOPE_GLOBAL);
    }
    sync_path(tmp);
}

}  // namespace cvtl
