#include "pipeline/train/run_state.hpp"

#include "pipeline/cache/h5_handle.hpp"
#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/core/atomic_file.hpp"
#include "pipeline/core/error.hpp"

#include <cvtl/version.hpp>

#include <boost/filesystem.hpp>

#include <cstdio>

namespace cvtl {
namespace {

void write_tensor(H5::Group& group, const std::string& name, const cv::Mat& m) {
    std::vector<hsize_t> dims;
    for (int i = 0; i < m.dims; ++i) dims.push_back(static_cast<hsize_t>(m.size[i]));
    if (m.dims == 2 && m.size[0] == 1) dims = {static_cast<hsize_t>(m.size[1])};
    H5::DataSpace space(static_cast<int>(dims.size()), dims.data());
    H5::DataSet ds = group.createDataSet(name, H5::PredType::IEEE_F32LE, space);
    cv::Mat c = m.isContinuous() ? m : m.clone();
    ds.write(c.ptr<float>(), H5::PredType::NATIVE_FLOAT);
}

cv::Mat read_tensor(const H5::DataSet& ds) {
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    std::vector<int> shape(dims.begin(), dims.end());
    if (shape.empty()) shape = {1};
    cv::Mat m(shape, CV_32F);
    ds.read(m.ptr<float>(), H5::PredType::NATIVE_FLOAT);
    return m;
}

}  // namespace

void save_run_state(const std::string& path, const RunState& state) {
    h5::quiet_errors();
    const std::string tmp = path + ".tmp";
    try {
        {
            const h5::File handle(tmp, H5F_ACC_TRUNC);
            const auto h5 = handle.access();
            H5::H5File& file = *h5;
            h5::set_string(file, "format", kRunFormat);
            h5::set_int(file, "version", kRunVersion);
            h5::set_string(file, "kind", to_string(state.kind));
            h5::set_string(file, "cvtl_version", kVersion);
            h5::set_string(file, "meta", state.meta.dump());
            h5::set_string(file, "spec", state.spec.dump());
            h5::set_string(file, "progress", state.progress.dump());
            H5::Group weights = file.createGroup("/weights");
            for (const auto& [name, value] : state.weights) write_tensor(weights, name, value);
            if (!state.optimizer.empty()) {
                H5::Group opt = file.createGroup("/optimizer");
                for (const auto& [name, value] : state.optimizer) {
                    const auto slash = name.rfind('/');
                    const std::string param = name.substr(0, slash);
                    H5::Group g = opt.nameExists(param) ? opt.openGroup(param) : opt.createGroup(param);
                    write_tensor(g, name.substr(slash + 1), value);
                }
            }
        }
    } catch (const H5::Exception& e) {
        std::remove(tmp.c_str());
        throw Error("cannot write " + path + ": " + e.getDetailMsg() + " (is the disk full or the folder read-only?)");
    }
    commit_file(tmp, path);
}

RunState load_run_state(const std::string& path) {
    h5::quiet_errors();
    if (!boost::filesystem::exists(path)) throw Error(path + " does not exist");
    RunState state;
    try {
        if (!h5::is_hdf5(path)) throw Error(path + " is not a cvtl run file (not HDF5)");
        const h5::File handle(path, H5F_ACC_RDONLY);
        const auto h5 = handle.access();
        H5::H5File& file = *h5;
        if (!h5::has_attr(file, "format") || h5::get_string(file, "format") != kRunFormat)
            throw Error(path + " is not a cvtl run file (no format=\"cvtl-run\" attribute)");
        const auto version = h5::get_int(file, "version");
        if (version != kRunVersion)
            throw Error(path + " has run format version " + std::to_string(version) + " (made by cvtl " +
                        h5::get_string(file, "cvtl_version") + "); this cvtl reads version " +
                        std::to_string(kRunVersion));
        state.kind = parse_run_kind(h5::get_string(file, "kind"), path);
        state.meta = nlohmann::json::parse(h5::get_string(file, "meta"));
        state.spec = nlohmann::json::parse(h5::get_string(file, "spec"));
        state.progress = nlohmann::json::parse(h5::get_string(file, "progress"));
        H5::Group weights = file.openGroup("/weights");
        for (hsize_t i = 0; i < weights.getNumObjs(); ++i) {
            const std::string name = weights.getObjnameByIdx(i);
            state.weights[name] = read_tensor(weights.openDataSet(name));
        }
        if (file.nameExists("/optimizer")) {
            H5::Group opt = file.openGroup("/optimizer");
            for (hsize_t i = 0; i < opt.getNumObjs(); ++i) {
                const std::string param = opt.getObjnameByIdx(i);
                H5::Group g = opt.openGroup(param);
                for (hsize_t j = 0; j < g.getNumObjs(); ++j) {
                    const std::string slot = g.getObjnameByIdx(j);
                    state.optimizer[param + "/" + slot] = read_tensor(g.openDataSet(slot));
                }
            }
        }
    } catch (const H5::Exception& e) {
        throw Error(path + " cannot be read: " + e.getDetailMsg() + " (truncated or damaged?)");
    } catch (const nlohmann::json::exception& e) {
        throw Error(path + " has malformed metadata: " + e.what());
    }
    return state;
}

}  // namespace cvtl
