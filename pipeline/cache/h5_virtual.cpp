#include "pipeline/cache/h5_virtual.hpp"

#include "pipeline/cache/h5_handle.hpp"

#include <boost/filesystem.hpp>

namespace cvtl::h5 {

H5::DataSet create_virtual(H5::Group& parent, const std::string& name, const H5::DataType& type,
                           const std::vector<hsize_t>& sample_dims, const std::vector<VirtualSource>& sources) {
    Lock lock;
    hsize_t total = 0;
    for (const VirtualSource& s : sources) total += s.rows;
    std::vector<hsize_t> dims{total};
    dims.insert(dims.end(), sample_dims.begin(), sample_dims.end());
    const int rank = static_cast<int>(dims.size());
    if (total == 0) {  // HDF5 has no empty mapping: an ordinary empty dataset reads the same
        std::vector<hsize_t> maxdims = dims, chunk = dims;
        maxdims[0] = H5S_UNLIMITED;
        chunk[0] = 1;
        H5::DSetCreatPropList chunked;
        chunked.setChunk(rank, chunk.data());
        return parent.createDataSet(name, type, H5::DataSpace(rank, dims.data(), maxdims.data()), chunked);
    }
    H5::DataSpace virtual_space(rank, dims.data());
    H5::DSetCreatPropList props;
    hsize_t at = 0;
    for (const VirtualSource& s : sources) {
        if (s.rows == 0) continue;  // HDF5 refuses empty mappings; an empty shard adds nothing
        std::vector<hsize_t> count = dims, start(dims.size(), 0);
        count[0] = s.rows;
        start[0] = at;
        virtual_space.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
        const H5::DataSpace source_space(rank, count.data());  // the source's first rows, all of each sample
        if (H5Pset_virtual(props.getId(), virtual_space.getId(), s.file.c_str(), s.dataset.c_str(),
                           source_space.getId()) < 0)
            throw H5::DataSetIException("create_virtual", "cannot map " + s.file + ":" + s.dataset);
        at += s.rows;
    }
    virtual_space.selectAll();
    return parent.createDataSet(name, type, virtual_space, props);
}

namespace {

// One of H5Pget_virtual_filename / H5Pget_virtual_dsetname for mapping i: asked for its length first.
template <typename Get>
std::string mapping_text(Get get, hid_t props, size_t i) {
    const ssize_t n = get(props, i, nullptr, 0);
    if (n <= 0) return "";
    std::string text(static_cast<size_t>(n) + 1, '\0');
    get(props, i, text.data(), text.size());
    text.resize(static_cast<size_t>(n));
    return text;
}

}  // namespace

hsize_t virtual_stored_bytes(const H5::DataSet& ds, const std::string& file) {
    Lock lock;
    const H5::DSetCreatPropList props = ds.getCreatePlist();
    size_t count = 0;
    if (props.getLayout() != H5D_VIRTUAL || H5Pget_virtual_count(props.getId(), &count) < 0) return 0;
    const boost::filesystem::path folder = boost::filesystem::absolute(file).parent_path();
    hsize_t bytes = 0;
    for (size_t i = 0; i < count; ++i) {
        const boost::filesystem::path source = folder / mapping_text(H5Pget_virtual_filename, props.getId(), i);
        const std::string dataset = mapping_text(H5Pget_virtual_dsetname, props.getId(), i);
        boost::system::error_code ec;
        if (!boost::filesystem::is_regular_file(source, ec)) continue;
        try {
            bytes += H5::H5File(source.string(), H5F_ACC_RDONLY).openDataSet(dataset).getStorageSize();
        } catch (const H5::Exception&) {
            // unreadable: adds nothing (see above)
        }
    }
    return bytes;
}

}  // namespace cvtl::h5
