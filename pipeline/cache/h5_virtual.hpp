#pragma once
// HDF5 virtual datasets (VDS, HDF5 1.10): one dataset read through h5py, h5dump or cvtl as if it
// were stored, whose rows live in datasets of other files. A merged sharded cache is made of them.
#include <H5Cpp.h>

#include <string>
#include <vector>

namespace cvtl::h5 {

struct VirtualSource {
    std::string file;     // relative to the virtual dataset's own file (HDF5 resolves it from there)
    std::string dataset;  // path of the source dataset in that file
    hsize_t rows = 0;     // its first `rows` rows are mapped
};

// Creates `name` in `parent`: [sum of rows, sample_dims...] of `type`, the sources' rows one after
// the other, in order (an ordinary empty dataset when they hold no rows). Throws H5::Exception
// when HDF5 refuses.
H5::DataSet create_virtual(H5::Group& parent, const std::string& name, const H5::DataType& type,
                           const std::vector<hsize_t>& sample_dims, const std::vector<VirtualSource>& sources);

// The bytes the sources of a virtual dataset of the file `file` store, as getStorageSize() counts
// them for a stored dataset (a virtual one stores none itself). A source that cannot be opened adds 0:
// the missing-file checks report it (cache_info.hpp).
hsize_t virtual_stored_bytes(const H5::DataSet& ds, const std::string& file);

}  // namespace cvtl::h5
