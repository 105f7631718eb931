#pragma once
// RFC 4180 fields for the CSV files cvtl writes (sweep.csv, confusion.csv, the pilot's sample.csv):
// a field with a comma, a quote, a line break or surrounding blanks is quoted, its quotes doubled,
// so csv_reader.hpp (and any spreadsheet) reads back exactly the text written.
#include <string>

namespace cvtl {

std::string csv_field(const std::string& text);

}  // namespace cvtl
