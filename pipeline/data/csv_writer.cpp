#include "pipeline/data/csv_writer.hpp"

namespace cvtl {

std::string csv_field(const std::string& text) {
    const bool blanks =
        !text.empty() && (text.front() == ' ' || text.front() == '\t' || text.back() == ' ' || text.back() == '\t');
    if (text.find_first_of(",\"\r\n") == std::string::npos && !blanks) return text;
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

}  // namespace cvtl
