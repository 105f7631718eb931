// Turns Debian's Fashion-MNIST IDX files into class-per-folder PNG trees for the demo, so the demo's
// images go through the same path as users' images.
//
//   cvtl-fashion-mnist OUT [--source DIR] [--scenario coarse-fine|disjoint] [--n 10,100,1000] [--seed S]
//                          [--p1-train] [--test-per-class K]
//
// OUT/p1/test (OUT/p1/train with --p1-train): problem P1 (coarse-fine: 4 coarse classes over all images;
//                             disjoint: 5 of the 10 classes, after Yosinski et al. 2014)
// OUT/p2/train-nN:           problem P2, N seeded images per fine class (nested: n=10 is in n=100)
// OUT/p2/test:               problem P2 on the whole test set (its classes)
// Each image: the 28x28 gray digit padded to 32x32 with black borders (the pretrained model's input).
#include <CLI/CLI.hpp>

#include <opencv2/imgcodecs.hpp>

#include <boost/filesystem.hpp>

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = boost::filesystem;

namespace {

const std::vector<std::string> kFine = {"T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
                                        "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot"};
const std::vector<std::string> kCoarse = {"tops",     "bottoms", "tops",     "tops", "tops",
                                          "footwear", "tops",    "footwear", "bags", "footwear"};
// Yosinski et al.'s split, on Fashion-MNIST's labels.
const std::vector<int> kDisjointP1 = {0, 1, 2, 3, 4};
const std::vector<int> kDisjointP2 = {5, 6, 7, 8, 9};

std::vector<unsigned char> read_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    if (!f) throw std::runtime_error("cannot open " + path + " (install Debian's dataset-fashion-mnist)");
    std::vector<unsigned char> data;
    unsigned char buf[1 << 16];
    int n = 0;
    while ((n = gzread(f, buf, sizeof buf)) > 0) data.insert(data.end(), buf, buf + n);
    gzclose(f);
    if (n < 0) throw std::runtime_error(path + " is not a readable gzip file");
    return data;
}

std::uint32_t big_endian(const std::vector<unsigned char>& d, size_t at) {
    return (std::uint32_t(d[at]) << 24) | (std::uint32_t(d[at + 1]) << 16) | (std::uint32_t(d[at + 2]) << 8) |
           d[at + 3];
}

struct Split {
    std::vector<cv::Mat> images;  // 32x32 CV_8UC1
    std::vector<int> labels;
};

Split read_split(const std::string& dir, const std::string& prefix) {
    const auto images = read_gz(dir + "/" + prefix + "-images-idx3-ubyte.gz");
    const auto labels = read_gz(dir + "/" + prefix + "-labels-idx1-ubyte.gz");
    if (images.size() < 16 || big_endian(images, 0) != 0x803 || labels.size() < 8 || big_endian(labels, 0) != 0x801)
        throw std::runtime_error(dir + "/" + prefix + "-*: not IDX image/label files");
    const std::uint32_t n = big_endian(images, 4), rows = big_endian(images, 8), cols = big_endian(images, 12);
    if (big_endian(labels, 4) != n || images.size() != 16 + size_t(n) * rows * cols || labels.size() != 8 + size_t(n))
        throw std::runtime_error(dir + "/" + prefix + "-*: truncated or mismatched IDX files");
    Split s;
    for (std::uint32_t i = 0; i < n; ++i) {
        cv::Mat digit(int(rows), int(cols), CV_8UC1, const_cast<unsigned char*>(&images[16 + size_t(i) * rows * cols]));
        cv::Mat padded(32, 32, CV_8UC1, cv::Scalar(0));
        digit.copyTo(padded(cv::Rect((32 - int(cols)) / 2, (32 - int(rows)) / 2, int(cols), int(rows))));
        s.images.push_back(padded);
        s.labels.push_back(labels[8 + i]);
    }
    return s;
}

void write_image(const fs::path& dir, const std::string& cls, size_t index, const cv::Mat& image) {
    fs::create_directories(dir / cls);
    char name[32];
    std::snprintf(name, sizeof name, "%05zu.png", index);
    const std::string path = (dir / cls / name).string();
    if (!cv::imwrite(path, image)) throw std::runtime_error("cannot write " + path + " (disk full?)");
}

bool contains(const std::vector<int>& v, int x) { return std::find(v.begin(), v.end(), x) != v.end(); }

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Fashion-MNIST IDX files -> class-per-folder PNG trees for cvtl's demo"};
    std::string out, source = "/usr/share/datasets/fashion-mnist", scenario = "coarse-fine";
    std::vector<int> ns{10, 100, 1000};
    std::uint64_t seed = 0;
    int test_per_class = 0;
    bool with_p1_train = false;
    app.add_option("OUT", out, "Output folder")->required();
    app.add_option("--source", source, "Folder with the *-idx?-ubyte.gz files")->capture_default_str();
    app.add_option("--scenario", scenario,
                   "coarse-fine (P1: 4 coarse classes; P2: 10 fine) or disjoint (5 + 5 classes)")
        ->capture_default_str();
    app.add_option("--n", ns, "P2 training images per class (one tree per value)")->delimiter(',');
    app.add_option("--seed", seed, "Seed of the P2 subsets")->capture_default_str();
    app.add_flag("--p1-train", with_p1_train, "Also write P1's 60,000 training images (OUT/p1/train)");
    app.add_option("--test-per-class", test_per_class, "Only the first K test images of each class (0: all)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    try {
        if (scenario != "coarse-fine" && scenario != "disjoint")
            throw std::runtime_error("unknown --scenario " + scenario);
        const bool disjoint = scenario == "disjoint";
        const Split train = read_split(source, "train"), test = read_split(source, "t10k");
        const fs::path root(out);
        auto p1_class = [&](int label) { return disjoint ? kFine[size_t(label)] : kCoarse[size_t(label)]; };
        auto in_p1 = [&](int label) { return !disjoint || contains(kDisjointP1, label); };
        auto in_p2 = [&](int label) { return !disjoint || contains(kDisjointP2, label); };
        size_t written = 0;
        for (size_t i = 0; i < train.images.size() && with_p1_train; ++i)
            if (in_p1(train.labels[i]))
                write_image(root / "p1/train", p1_class(train.labels[i]), i, train.images[i]), ++written;
        std::vector<int> test_taken(10, 0);
        for (size_t i = 0; i < test.images.size(); ++i) {
            if (test_per_class > 0 && test_taken[size_t(test.labels[i])]++ >= test_per_class) continue;
            if (in_p1(test.labels[i]))
                write_image(root / "p1/test", p1_class(test.labels[i]), i, test.images[i]), ++written;
            if (in_p2(test.labels[i]))
                write_image(root / "p2/test", kFine[size_t(test.labels[i])], i, test.images[i]), ++written;
        }
        // One seeded permutation per class: each n takes its first n images, so smaller sets nest in larger ones.
        for (int label = 0; label < 10; ++label) {
            if (!in_p2(label)) continue;
            std::vector<size_t> idx;
            for (size_t i = 0; i < train.labels.size(); ++i)
                if (train.labels[i] == label) idx.push_back(i);
            std::mt19937_64 rng(seed * 100 + std::uint64_t(label));
            for (size_t i = idx.size(); i > 1; --i) std::swap(idx[i - 1], idx[rng() % i]);
            for (int n : ns) {
                if (n < 1 || size_t(n) > idx.size())
                    throw std::runtime_error("--n " + std::to_string(n) + " is outside 1.." +
                                             std::to_string(idx.size()));
                for (int k = 0; k < n; ++k)
                    write_image(root / ("p2/train-n" + std::to_string(n)), kFine[size_t(label)], idx[size_t(k)],
                                train.images[idx[size_t(k)]]),
                        ++written;
            }
        }
        std::printf("wrote %zu PNG images under %s (scenario %s)\n", written, out.c_str(), scenario.c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cvtl-fashion-mnist: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
