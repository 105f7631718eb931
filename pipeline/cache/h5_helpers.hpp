#pragma once
// Small wrappers over the HDF5 C++ API for what the cache needs: string attributes, integer
// attributes, float16, and extendible 1-D string/number datasets.
#include <H5Cpp.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cvtl::h5 {

// Opens an attribute that must hold exactly one element (throws H5::Exception otherwise).
H5::Attribute open_scalar(const H5::H5Object& obj, const std::string& name);
void set_string(H5::H5Object& obj, const std::string& name, const std::string& value);
std::string get_string(const H5::H5Object& obj, const std::string& name);
void set_int(H5::H5Object& obj, const std::string& name, std::int64_t value);
std::int64_t get_int(const H5::H5Object& obj, const std::string& name);
bool has_attr(const H5::H5Object& obj, const std::string& name);

// IEEE half precision as h5py and numpy read it (HDF5 1.10 has no predefined float16).
const H5::FloatType& float16();

// Variable-length UTF-8 strings.
const H5::StrType& vlen_string();

// A 1-D dataset of `type` that grows as rows are appended (chunked, unlimited).
H5::DataSet create_growing_1d(H5::Group& parent, const std::string& name, const H5::DataType& type, hsize_t chunk);

// Appends/reads rows of a 1-D dataset (resizing it to `offset + count`).
void write_strings(H5::DataSet& ds, hsize_t offset, const std::vector<std::string>& values);
std::vector<std::string> read_strings(const H5::DataSet& ds, hsize_t max_rows = ~hsize_t{0});
void write_rows(H5::DataSet& ds, hsize_t offset, hsize_t count, const H5::DataType& mem_type, const void* data);

hsize_t rows(const H5::DataSet& ds);

// Turns off the HDF5 library's own error printing: cvtl reports one line instead.
void quiet_errors();

}  // namespace cvtl::h5
