#include "pipeline/data/csv_reader.hpp"

#include "pipeline/core/error.hpp"

#include <iterator>

namespace cvtl {
namespace {

std::string trim_blanks(const std::string& s) {
    const auto b = s.find_first_not_of(" \t");
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A small state machine over the whole text; `i` is the read position.
class Parser {
public:
    Parser(std::string text, std::string source) : text_(std::move(text)), source_(std::move(source)) {}

    std::vector<CsvRecord> records() {
        std::vector<CsvRecord> out;
        while (i_ < text_.size()) out.push_back(record());
        return out;
    }

private:
    CsvRecord record() {
        CsvRecord r;
        r.line = line_;
        for (;;) {
            r.fields.push_back(field());
            if (i_ >= text_.size()) return r;
            const char c = text_[i_++];
            if (c == ',') continue;
            if (c == '\r' && i_ < text_.size() && text_[i_] == '\n') ++i_;
            ++line_;
            return r;
        }
    }

    std::string field() {
        size_t start = i_;
        while (start < text_.size() && (text_[start] == ' ' || text_[start] == '\t')) ++start;
        if (start < text_.size() && text_[start] == '"') {
            i_ = start + 1;
            return quoted();
        }
        std::string raw;
        while (i_ < text_.size() && text_[i_] != ',' && text_[i_] != '\n' && text_[i_] != '\r') raw += text_[i_++];
        return trim_blanks(raw);
    }

    std::string quoted() {
        const int opened = line_;
        std::string value;
        for (;;) {
            if (i_ >= text_.size())
                throw Error(source_ + " line " + std::to_string(opened) +
                            ": a quoted field is never closed; close it with \"");
            const char c = text_[i_++];
            if (c == '\n') ++line_;
            if (c != '"') {
                value += c;
            } else if (i_ < text_.size() && text_[i_] == '"') {
                value += '"';
                ++i_;
            } else {
                break;
            }
        }
        while (i_ < text_.size() && (text_[i_] == ' ' || text_[i_] == '\t')) ++i_;
        if (i_ < text_.size() && text_[i_] != ',' && text_[i_] != '\n' && text_[i_] != '\r')
            throw Error(source_ + " line " + std::to_string(line_) +
                        ": text after a closing quote; quote the whole field and double inner quotes");
        return value;
    }

    std::string text_, source_;
    size_t i_ = 0;
    int line_ = 1;
};

}  // namespace

std::vector<CsvRecord> read_csv(std::istream& in, const std::string& source) {
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return Parser(std::move(text), source).records();
}

}  // namespace cvtl
