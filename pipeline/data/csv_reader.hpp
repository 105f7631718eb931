#pragma once
// RFC 4180 CSV records: fields separated by commas, optionally quoted; inside quotes a doubled
// quote is a quote, and commas and line breaks are data. CRLF and LF both end records.
#include <istream>
#include <string>
#include <vector>

namespace cvtl {

struct CsvRecord {
    int line = 0;                     // where the record starts, 1-based
    std::vector<std::string> fields;  // unquoted fields are trimmed of surrounding blanks; quoted ones kept exactly
};

// Reads every record. Throws cvtl::Error naming `source` and the line for an unterminated quote or
// a character after a closing quote.
std::vector<CsvRecord> read_csv(std::istream& in, const std::string& source);

}  // namespace cvtl
