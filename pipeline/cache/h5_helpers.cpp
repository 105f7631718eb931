#include "pipeline/cache/h5_helpers.hpp"
#include "pipeline/cache/h5_handle.hpp"

#include <algorithm>

namespace cvtl::h5 {

void set_string(H5::H5Object& obj, const std::string& name, const std::string& value) {
    if (obj.attrExists(name)) obj.removeAttr(name);
    H5::Attribute attr = obj.createAttribute(name, vlen_string(), H5::DataSpace(H5S_SCALAR));
    attr.write(vlen_string(), value);
}

// An attribute read into one value must hold exactly one element: HDF5 writes as many elements as
// the file declares, so a file that declares more would overflow the caller's single value.
H5::Attribute open_scalar(const H5::H5Object& obj, const std::string& name) {
    H5::Attribute attr = obj.openAttribute(name);
    if (attr.getSpace().getSimpleExtentNpoints() != 1)
        throw H5::AttributeIException("open_scalar", "attribute " + name + " is not a single value");
    return attr;
}

std::string get_string(const H5::H5Object& obj, const std::string& name) {
    H5::Attribute attr = open_scalar(obj, name);
    if (attr.getTypeClass() != H5T_STRING)
        throw H5::AttributeIException("get_string", "attribute " + name + " is not a string");
    std::string value;
    attr.read(attr.getStrType(), value);
    return value;
}

void set_int(H5::H5Object& obj, const std::string& name, std::int64_t value) {
    if (!obj.attrExists(name)) obj.createAttribute(name, H5::PredType::STD_I64LE, H5::DataSpace(H5S_SCALAR));
    obj.openAttribute(name).write(H5::PredType::NATIVE_INT64, &value);
}

std::int64_t get_int(const H5::H5Object& obj, const std::string& name) {
    H5::Attribute attr = open_scalar(obj, name);
    if (attr.getTypeClass() != H5T_INTEGER)
        throw H5::AttributeIException("get_int", "attribute " + name + " is not an integer");
    std::int64_t value = 0;
    attr.read(H5::PredType::NATIVE_INT64, &value);
    return value;
}

bool has_attr(const H5::H5Object& obj, const std::string& name) { return obj.attrExists(name); }

const H5::FloatType& float16() {
    static const H5::FloatType type = [] {
        hid_t id = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(id, 15, 10, 5, 0, 10);
        H5Tset_size(id, 2);
        H5Tset_ebias(id, 15);
        H5::FloatType t(id);
        H5Tclose(id);
        return t;
    }();
    return type;
}

const H5::StrType& vlen_string() {
    static const H5::StrType type = [] {
        H5::StrType t(H5::PredType::C_S1, H5T_VARIABLE);
        t.setCset(H5T_CSET_UTF8);
        return t;
    }();
    return type;
}

H5::DataSet create_growing_1d(H5::Group& parent, const std::string& name, const H5::DataType& type, hsize_t chunk) {
    hsize_t dims[1] = {0}, maxdims[1] = {H5S_UNLIMITED}, chunks[1] = {chunk};
    H5::DataSpace space(1, dims, maxdims);
    H5::DSetCreatPropList props;
    props.setChunk(1, chunks);
    return parent.createDataSet(name, type, space, props);
}

void write_rows(H5::DataSet& ds, hsize_t offset, hsize_t count, const H5::DataType& mem_type, const void* data) {
    if (count == 0) return;
    H5::DataSpace space = ds.getSpace();
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(static_cast<size_t>(rank));
    space.getSimpleExtentDims(dims.data());
    dims[0] = offset + count;
    ds.extend(dims.data());
    space = ds.getSpace();
    std::vector<hsize_t> start(dims.size(), 0), counts = dims;
    start[0] = offset;
    counts[0] = count;
    space.selectHyperslab(H5S_SELECT_SET, counts.data(), start.data());
    H5::DataSpace memory(rank, counts.data());
    ds.write(data, mem_type, memory, space);
}

void write_strings(H5::DataSet& ds, hsize_t offset, const std::vector<std::string>& values) {
    std::vector<const char*> pointers;
    pointers.reserve(values.size());
    for (const auto& v : values) pointers.push_back(v.c_str());
    write_rows(ds, offset, values.size(), vlen_string(), pointers.data());
}

std::vector<std::string> read_strings(const H5::DataSet& ds, hsize_t max_rows) {
    // The dataset's extent is a claim of the file: only the first `max_rows` (what the caller's
    // checked counters justify) are allocated and read.
    const hsize_t n = std::min(rows(ds), max_rows);
    if (n == 0) return {};
    std::vector<char*> pointers(n, nullptr);
    H5::DataSpace space = ds.getSpace();
    if (space.getSimpleExtentNdims() != 1) throw H5::DataSetIException("read_strings", "not a 1-D string dataset");
    const hsize_t start = 0;
    space.selectHyperslab(H5S_SELECT_SET, &n, &start);
    H5::DataSpace memory(1, &n);
    ds.read(pointers.data(), vlen_string(), memory, space);
    std::vector<std::string> values;
    values.reserve(n);
    for (char* p : pointers) values.emplace_back(p ? p : "");  // an unwritten element reads as null
    H5Dvlen_reclaim(vlen_string().getId(), memory.getId(), H5P_DEFAULT, pointers.data());
    return values;
}

hsize_t rows(const H5::DataSet& ds) {
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    return dims.empty() ? 0 : dims[0];
}

void quiet_errors() { H5::Exception::dontPrint(); }

namespace {

// Recursive: a function holding the lock may call helpers that take it again.
std::recursive_mutex& library_mutex() {
    static std::recursive_mutex mutex;
    return mutex;
}

}  // namespace

Lock::Lock() : lock_(library_mutex()) {}

File::File(const std::string& path, unsigned flags, const H5::FileAccPropList& access) {
    open([&] { return H5::H5File(path, flags, H5::FileCreatPropList::DEFAULT, access); });
}

bool is_hdf5(const std::string& path) {
    Lock lock;
    return H5::H5File::isHdf5(path);
}

}  // namespace cvtl::h5
