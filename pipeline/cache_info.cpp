#include "pipeline/cache_info.hpp"

#include "pipeline/cache_format.hpp"
#include "pipeline/h5_helpers.hpp"
#include "plugin/error.hpp"

#include <boost/filesystem.hpp>

namespace cvtl {
namespace {

nlohmann::json attribute_value(H5::Attribute& attr) {
    if (attr.getTypeClass() == H5T_STRING) {
        std::string s;
        attr.read(attr.getStrType(), s);
        if (!s.empty() && (s[0] == '{' || s[0] == '[')) return nlohmann::json::parse(s, nullptr, false);
        return s;
    }
    std::int64_t v = 0;
    attr.read(H5::PredType::NATIVE_INT64, &v);
    return v;
}

}  // namespace

namespace {

// The progress counters are numbers from the file: they must agree with what the file stores before
// anything sizes a buffer or a read by them.
void check_counts(const CacheInfo& info, std::int64_t skipped, hsize_t stored_rows) {
    const std::string damaged = "; the file is damaged: extract it again (--force)";
    if (info.rows < 0 || skipped < 0 || info.consumed < info.rows + skipped || info.dataset_size < info.consumed)
        throw Error("cache " + info.path + " has inconsistent progress counters (rows " + std::to_string(info.rows) + ", skipped " +
                    std::to_string(skipped) + ", consumed " + std::to_string(info.consumed) + ", dataset " + std::to_string(info.dataset_size) + ")" + damaged);
    if (static_cast<hsize_t>(info.rows) > stored_rows)
        throw Error("cache " + info.path + " claims " + std::to_string(info.rows) + " rows but stores " + std::to_string(stored_rows) + " labels" + damaged);
    for (const auto& t : info.taps)
        if (t.dims.size() < 2 || t.dims[0] < static_cast<std::uint64_t>(info.rows))
            throw Error("cache " + info.path + ": tap " + t.name + " stores fewer rows than the " + std::to_string(info.rows) + " committed" + damaged);
    if (info.complete && info.consumed != info.dataset_size)
        throw Error("cache " + info.path + " is marked complete after " + std::to_string(info.consumed) + " of " + std::to_string(info.dataset_size) +
                    " images" + damaged);
}

}  // namespace

CacheInfo read_cache_info(const std::string& path) {
    h5::quiet_errors();
    if (!boost::filesystem::exists(path)) throw Error("cache " + path + " does not exist");
    CacheInfo info;
    info.path = path;
    try {
        if (!H5::H5File::isHdf5(path)) throw Error(path + " is not an HDF5 file (is it a cvtl cache?)");
        H5::H5File file(path, H5F_ACC_RDONLY);
        if (!h5::has_attr(file, cache::kAttrFormat) || h5::get_string(file, cache::kAttrFormat) != cache::kFormat)
            throw Error(path + " is an HDF5 file but not a cvtl cache (no format=\"cvtl-cache\" attribute)");
        const auto version = h5::get_int(file, cache::kAttrVersion);
        if (version != cache::kVersion)
            throw Error("cache " + path + " has format version " + std::to_string(version) +
                        "; this cvtl reads version " + std::to_string(cache::kVersion));
        for (int i = 0; i < file.getNumAttrs(); ++i) {
            H5::Attribute attr = file.openAttribute(static_cast<unsigned>(i));
            info.attributes[attr.getName()] = attribute_value(attr);
        }
        info.complete = h5::get_int(file, cache::kAttrComplete) == 1;
        info.dataset_size = h5::get_int(file, cache::kAttrDatasetSize);
        H5::Group progress = file.openGroup(cache::kProgress);
        info.rows = h5::get_int(progress, cache::kAttrDone);
        info.consumed = h5::get_int(progress, cache::kAttrNextInput);
        const auto skipped = h5::get_int(progress, cache::kAttrSkipped);

        info.classes = h5::read_strings(file.openDataSet(cache::kClasses));
        info.counts.assign(info.classes.size(), {0, 0, 0});
        if (info.rows > 0) {
            const auto n = static_cast<size_t>(info.rows);
            std::vector<std::int32_t> labels(h5::rows(file.openDataSet(cache::kSamplesLabel)));
            std::vector<std::uint8_t> splits(labels.size());
            file.openDataSet(cache::kSamplesLabel).read(labels.data(), H5::PredType::NATIVE_INT32);
            file.openDataSet(cache::kSamplesSplit).read(splits.data(), H5::PredType::NATIVE_UINT8);
            for (size_t i = 0; i < n && i < labels.size(); ++i)
                if (labels[i] >= 0 && static_cast<size_t>(labels[i]) < info.classes.size() && splits[i] < 3)
                    ++info.counts[static_cast<size_t>(labels[i])][splits[i]];
        }
        auto skipped_paths = h5::read_strings(file.openDataSet(cache::kSkippedPath));
        auto skipped_reasons = h5::read_strings(file.openDataSet(cache::kSkippedReason));
        skipped_paths.resize(std::min<size_t>(skipped_paths.size(), static_cast<size_t>(skipped)));
        skipped_reasons.resize(skipped_paths.size());
        info.skipped_paths = std::move(skipped_paths);
        info.skipped_reasons = std::move(skipped_reasons);

        H5::Group taps = file.openGroup(cache::kTapsGroup);
        for (const auto& tap : info.attributes.at(cache::kAttrTaps)) {
            const std::string name = tap.at("name");
            H5::DataSet ds = taps.openDataSet(name);
            CacheTapInfo t;
            t.name = name;
            t.layer = tap.at("layer");
            t.dtype = ds.getDataType().getSize() == 2 ? "f16" : "f32";
            H5::DataSpace space = ds.getSpace();
            std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
            space.getSimpleExtentDims(dims.data());
            std::vector<hsize_t> chunk(dims.size());
            ds.getCreatePlist().getChunk(static_cast<int>(chunk.size()), chunk.data());
            t.dims.assign(dims.begin(), dims.end());
            t.chunk.assign(chunk.begin(), chunk.end());
            t.stored_bytes = ds.getStorageSize();
            info.taps.push_back(t);
        }
        check_counts(info, skipped, h5::rows(file.openDataSet(cache::kSamplesLabel)));
    } catch (const H5::Exception& e) {
        throw Error("cache " + path + " cannot be read: " + e.getDetailMsg() + " (truncated or damaged?)");
    } catch (const nlohmann::json::exception& e) {
        throw Error("cache " + path + " has malformed metadata: " + e.what());
    }
    return info;
}

}  // namespace cvtl
