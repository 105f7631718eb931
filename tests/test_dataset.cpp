#include "pipeline/data/dataset.hpp"
#include "pipeline/core/error.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <boost/filesystem.hpp>

#include <map>

using namespace cvtl;
namespace fs = boost::filesystem;

namespace {

void make_tree(const std::string& root, const std::map<std::string, int>& counts) {
    for (const auto& [cls, n] : counts) {
        fs::create_directories(root + "/" + cls);
        for (int i = 0; i < n; ++i) test::write_file(root + "/" + cls + "/" + std::to_string(i) + ".jpg", "x");
    }
}

}  // namespace

TEST_SUITE("unit") {
    TEST_CASE("a class-per-folder tree scans in a deterministic order") {
        const Dataset d = scan_dataset(test::fixture("images"), {0.0, 0});
        REQUIRE(d.classes == std::vector<std::string>{"cat", "dog", "fish"});
        REQUIRE(d.samples.size() == 12);
        CHECK(d.samples[0].path == "cat/img0.jpg");
        CHECK(d.samples[11].path == "fish/img3.png");
        CHECK(d.samples[4].label == 1);
        CHECK(d.file(d.samples[0]) == test::fixture("images") + "/cat/img0.jpg");
    }

    TEST_CASE("nested folders and hidden files and non-images and numeric class names") {
        test::TempDir dir;
        make_tree(dir.path(), {{"10", 2}, {"2", 2}});
        fs::create_directories(dir / "2/sub");
        test::write_file(dir / "2/sub/a.PNG", "x");
        test::write_file(dir / "2/.hidden.jpg", "x");
        test::write_file(dir / "2/notes.txt", "x");
        const Dataset d = scan_dataset(dir.path(), {0.0, 0});
        CHECK(d.classes == std::vector<std::string>{"2", "10"});  // numeric order
        // Mixed names: numbers first by value, then text (a strict weak ordering std::sort can rely on).
        make_tree(dir.path(), {{"1a", 1}, {"b", 1}, {"01", 1}});
        CHECK(scan_dataset(dir.path(), {0.0, 0}).classes == std::vector<std::string>{"01", "2", "10", "1a", "b"});
        CHECK(d.samples.size() == 5);
        CHECK(d.samples[2].path == "2/sub/a.PNG");
    }

    TEST_CASE("the validation split is a seeded draw per path - stable as images are added or removed") {
        test::TempDir dir;
        make_tree(dir.path(), {{"a", 400}, {"b", 200}});
        const Dataset d1 = scan_dataset(dir.path(), {0.2, 7});
        const Dataset d2 = scan_dataset(dir.path(), {0.2, 7});
        const Dataset d3 = scan_dataset(dir.path(), {0.2, 8});
        CHECK(d1.fingerprint() == d2.fingerprint());
        CHECK(d1.fingerprint() != d3.fingerprint());
        // Each sample is validation exactly when its own draw is below the fraction.
        int val_a = 0, val_b = 0;
        for (const auto& s : d1.samples) {
            CHECK((s.split == Split::Val) == (split_draw(7, s.path) < 0.2));
            (s.label == 0 ? val_a : val_b) += s.split == Split::Val;
        }
        // Binomial(400, 0.2) and Binomial(200, 0.2) within 4 standard deviations (a uniform draw does this).
        CHECK(std::abs(val_a - 80) <= 32);
        CHECK(std::abs(val_b - 40) <= 23);
        CHECK_THROWS_AS(scan_dataset(dir.path(), {1.0, 0}), Error);

        // Adding 100 images and removing 50 moves no other image between splits.
        std::map<std::string, Split> before;
        for (const auto& s : d1.samples) before[s.path] = s.split;
        make_tree(dir.path(), {{"c", 100}});
        for (int i = 0; i < 50; ++i) boost::filesystem::remove(dir / ("a/" + std::to_string(i) + ".jpg"));
        const Dataset grown = scan_dataset(dir.path(), {0.2, 7});
        int kept = 0;
        for (const auto& s : grown.samples)
            if (before.count(s.path)) {
                CHECK(before[s.path] == s.split);
                ++kept;
            }
        CHECK(kept == 550);
    }

    TEST_CASE("a class whose every draw falls in validation keeps one training sample") {
        test::TempDir dir;
        make_tree(dir.path(), {{"a", 1}, {"b", 3}});
        const Dataset d = scan_dataset(dir.path(), {0.999, 1});
        for (int label = 0; label < 2; ++label) {
            int train = 0;
            for (const auto& s : d.samples) train += s.label == label && s.split == Split::Train;
            CHECK(train == 1);
        }
    }

    TEST_CASE("CSV lists with header and splits and labels by name") {
        test::TempDir dir;
        test::write_file(dir / "list.csv",
                         "path,label,split\nx/1.jpg,dog,train\nx/2.jpg,cat,val\n/abs/3.jpg,dog,test\n");
        const Dataset d = scan_dataset(dir / "list.csv", {0.5, 0});
        REQUIRE(d.classes == std::vector<std::string>{"cat", "dog"});
        REQUIRE(d.samples.size() == 3);
        CHECK(d.samples[0].path == "x/2.jpg");  // grouped by class, file order kept inside a class
        CHECK(d.samples[0].split == Split::Val);
        CHECK(d.samples[2].split == Split::Test);
        CHECK(d.file(d.samples[0]) == dir.path() + "/x/2.jpg");
        CHECK(d.file(d.samples[2]) == "/abs/3.jpg");

        test::write_file(dir / "nosplit.csv", "a.jpg,0\nb.jpg,1\nc.jpg,0\nd.jpg,0\n");
        const Dataset n = scan_dataset(dir / "nosplit.csv", {0.5, 0});
        int val = 0;
        for (const auto& s : n.samples) val += s.split == Split::Val;
        int expected = 0;
        for (const auto& s : n.samples) expected += split_draw(0, s.path) < 0.5;
        CHECK(val <= expected);  // the draws decide, but class 1 keeps its only sample for training
        for (const auto& s : n.samples)
            if (s.label == 1) CHECK(s.split == Split::Train);

        // RFC 4180: quoted fields keep commas, doubled quotes and line breaks; CRLF ends records.
        test::write_file(dir / "quoted.csv",
                         "path,label\r\n\"a, b.jpg\",cat\r\n\"say \"\"hi\"\".jpg\" , dog\n\"two\nlines.jpg\",cat\n");
        const Dataset q = scan_dataset(dir / "quoted.csv", {0.0, 0});
        REQUIRE(q.samples.size() == 3);
        CHECK(q.samples[0].path == "a, b.jpg");
        CHECK(q.samples[1].path == "two\nlines.jpg");
        CHECK(q.samples[2].path == "say \"hi\".jpg");
        test::write_file(dir / "open.csv", "a.jpg,cat\n\"b.jpg,dog\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "open.csv", {0.0, 0}),
                             doctest::Contains("open.csv line 2: a quoted field is never closed"), Error);
        test::write_file(dir / "after.csv", "\"a\"x.jpg,cat\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "after.csv", {0.0, 0}), doctest::Contains("text after a closing quote"),
                             Error);
    }

    TEST_CASE("unusable datasets are refused with the place to fix") {
        test::TempDir dir;
        make_tree(dir / "data", {{"cat", 2}, {"dog", 0}});
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "data", {0.1, 0}),
                             doctest::Contains(("class folder " + (dir / "data") + "/dog holds no images").c_str()),
                             Error);
        fs::create_directories(dir / "flat");
        test::write_file(dir / "flat/a.jpg", "x");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "flat", {0.1, 0}), doctest::Contains("has no class subfolders"), Error);
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "nope", {0.1, 0}), doctest::Contains("does not exist"), Error);
        test::write_file(dir / "bad.csv", "a.jpg,cat\nb.jpg\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "bad.csv", {0.1, 0}), doctest::Contains("bad.csv line 2"), Error);
        test::write_file(dir / "mixed.csv", "a.jpg,cat,train\nb.jpg,cat\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "mixed.csv", {0.1, 0}), doctest::Contains("give it on every row"),
                             Error);
        test::write_file(dir / "split.csv", "a.jpg,cat,holdout\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "split.csv", {0.1, 0}), doctest::Contains("unknown split 'holdout'"),
                             Error);
        // Names that are not UTF-8 (a Latin-1 "café") used to fail only at the end of training, inside
        // the JSON writer, with a message naming no file.
        test::write_file(dir / "latin1.csv", "a.jpg,caf\xe9\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "latin1.csv", {0.1, 0}),
                             doctest::Contains("latin1.csv line 1: the label is not valid UTF-8"), Error);
        test::write_file(dir / "overlong.csv",
                         "\xc0\xaf"
                         "a.jpg,cat\n");
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "overlong.csv", {0.1, 0}),
                             doctest::Contains("the path is not valid UTF-8"), Error);
        make_tree(dir / "latin1", {{"caf\xe9", 2}});
        CHECK_THROWS_WITH_AS(scan_dataset(dir / "latin1", {0.1, 0}), doctest::Contains("is not valid UTF-8 text"),
                             Error);
        test::write_file(dir / "utf8.csv", "caf\xc3\xa9/a.jpg,caf\xc3\xa9\nb.jpg,\xe7\x8c\xab\n");
        CHECK(scan_dataset(dir / "utf8.csv", {0.0, 0}).classes.size() == 2);
    }

}  // TEST_SUITE
