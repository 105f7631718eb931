// csv_field: what cvtl writes, csv_reader reads back exactly.
#include "pipeline/data/csv_reader.hpp"
#include "pipeline/data/csv_writer.hpp"

#include <doctest/doctest.h>

#include <sstream>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("CSV fields that need it are quoted - and read back exactly") {
        CHECK(csv_field("pool4") == "pool4");
        CHECK(csv_field("") == "");
        CHECK(csv_field("shirt, long") == "\"shirt, long\"");
        CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
        const std::vector<std::string> fields{
            "T-shirt/top", "shirt, long", "a \"quoted\" name", " padded ", "two\nlines", "crlf\r\n", ""};
        std::string line;
        for (size_t i = 0; i < fields.size(); ++i) line += (i ? "," : "") + csv_field(fields[i]);
        std::istringstream in(line + "\n");
        const auto records = read_csv(in, "test");
        REQUIRE(records.size() == 1);
        CHECK(records[0].fields == fields);
    }

}  // TEST_SUITE
