#include "pipeline/data/dataset.hpp"

#include "pipeline/data/csv_reader.hpp"

#include "pipeline/core/hashing.hpp"
#include "pipeline/core/error.hpp"
#include "pipeline/core/sha256.hpp"

#include <boost/filesystem.hpp>

#include <algorithm>
#include <cstdint>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

namespace fs = boost::filesystem;

namespace cvtl {
namespace {

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_image(const fs::path& p) {
    const auto& exts = image_extensions();
    return p.filename().string()[0] != '.' &&
           std::find(exts.begin(), exts.end(), lower(p.extension().string())) != exts.end();
}

// Caches, runs and reports store names as UTF-8 (HDF5 strings, JSON); other bytes would fail there,
// far from their cause, so they are refused where they are read.
bool valid_utf8(const std::string& s) {
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        const size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (n == 0 || i + n > s.size()) return false;
        std::uint32_t cp = n == 1 ? c : c & (0x7F >> n);
        for (size_t k = 1; k < n; ++k) {
            const auto t = static_cast<unsigned char>(s[i + k]);
            if ((t >> 6) != 0x2) return false;
            cp = (cp << 6) | (t & 0x3F);
        }
        const std::uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < least[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;  // overlong, too large, surrogate
        i += n;
    }
    return true;
}

void require_utf8(const std::string& text, const std::string& what) {
    if (!valid_utf8(text))
        throw Error(what + " is not valid UTF-8 text (caches and reports store names as UTF-8); rename it");
}

// Integers sort numerically ("2" before "10"), anything else as text.
bool class_less(const std::string& a, const std::string& b) {
    auto is_int = [](const std::string& s) {
        return !s.empty() && s.size() < 10 &&
               std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
    };
    // A strict weak ordering (std::sort needs one): numeric names first, by value, then every other
    // name by text; equal values ("01", "1") fall back to text. Comparing numbers by value and mixed
    // pairs by text would not be transitive ("2" < "10" < "1a" < "2").
    const bool ia = is_int(a), ib = is_int(b);
    if (ia != ib) return ia;
    if (ia && std::stoi(a) != std::stoi(b)) return std::stoi(a) < std::stoi(b);
    return a < b;
}

Dataset scan_folder(const fs::path& root) {
    Dataset data;
    std::vector<fs::path> class_dirs;
    for (const auto& entry : fs::directory_iterator(root))
        if (fs::is_directory(entry.path()) && entry.path().filename().string()[0] != '.')
            class_dirs.push_back(entry.path());
    if (class_dirs.empty())
        throw Error("dataset folder " + root.string() +
                    " has no class subfolders: expected DATA/<class>/<image> or a CSV of path,label[,split]");
    std::sort(class_dirs.begin(), class_dirs.end(), [](const fs::path& a, const fs::path& b) {
        return class_less(a.filename().string(), b.filename().string());
    });
    for (const fs::path& dir : class_dirs) {
        std::vector<std::string> files;
        require_utf8(dir.filename().string(), "class folder " + dir.string());
        for (fs::recursive_directory_iterator it(dir), end; it != end; ++it)
            if (fs::is_regular_file(it->path()) && is_image(it->path())) {
                files.push_back(fs::relative(it->path(), root).generic_string());
                require_utf8(files.back(), "image " + it->path().string());
            }
        if (files.empty())
            throw Error(
                "class folder " + dir.string() +
                " holds no images (looked for .jpg, .png, .bmp, .tif, .webp, .ppm); add images or remove the folder");
        std::sort(files.begin(), files.end());
        const int label = static_cast<int>(data.classes.size());
        data.classes.push_back(dir.filename().string());
        for (auto& f : files) data.samples.push_back({std::move(f), label, Split::Train});
    }
    return data;
}
// Returns the dataset and whether the CSV gave the split of every row.
std::pair<Dataset, bool> scan_csv(const fs::path& csv) {
    std::ifstream in(csv.string());
    if (!in) throw Error("cannot read dataset list " + csv.string());
    struct Row {
        std::string path, label, split;
    };
    std::vector<Row> rows;
    int with_split = 0;
    bool first = true;
    for (auto& r : read_csv(in, csv.string())) {
        const std::string where = csv.string() + " line " + std::to_string(r.line);
        auto& fields = r.fields;
        const bool blank = fields.size() == 1 && fields[0].empty();
        if (blank || (!fields.empty() && !fields[0].empty() && fields[0][0] == '#')) continue;
        const bool header = first && lower(fields[0]) == "path";
        first = false;
        if (header) continue;
        if (fields.size() < 2 || fields.size() > 3 || fields[0].empty() || fields[1].empty())
            throw Error(where + ": expected path,label[,split], found " + std::to_string(fields.size()) + " field(s)");
        require_utf8(fields[0], where + ": the path");
        require_utf8(fields[1], where + ": the label");
        with_split += fields.size() == 3;
        rows.push_back({fields[0], fields[1], fields.size() == 3 ? fields[2] : ""});
    }
    if (rows.empty()) throw Error("dataset list " + csv.string() + " has no rows (expected path,label[,split])");
    if (with_split != 0 && with_split != static_cast<int>(rows.size()))
        throw Error("dataset list " + csv.string() + ": " + std::to_string(with_split) + " of " +
                    std::to_string(rows.size()) + " rows give a split; give it on every row or on none");

    Dataset data;
    for (const Row& r : rows) data.classes.push_back(r.label);
    std::sort(data.classes.begin(), data.classes.end(), class_less);
    data.classes.erase(std::unique(data.classes.begin(), data.classes.end()), data.classes.end());
    std::map<std::string, int> index;
    for (size_t i = 0; i < data.classes.size(); ++i) index[data.classes[i]] = static_cast<int>(i);
    for (size_t i = 0; i < rows.size(); ++i) {
        Split split = rows[i].split.empty()
                          ? Split::Train
                          : parse_split(rows[i].split, csv.string() + " row " + std::to_string(i + 1));
        data.samples.push_back({rows[i].path, index[rows[i].label], split});
    }
    std::stable_sort(data.samples.begin(), data.samples.end(),
                     [](const Sample& a, const Sample& b) { return a.label < b.label; });
    return {data, with_split != 0};
}

void draw_validation_split(Dataset& data, const ScanOptions& options) {
    if (options.val_fraction < 0.0 || options.val_fraction >= 1.0)
        throw Error("{val-fraction} must be in [0, 1), got " + std::to_string(options.val_fraction));
    if (options.test_fraction < 0.0 || options.val_fraction + options.test_fraction >= 1.0)
        throw Error("{test-fraction} must be at least 0 and leave training images beside {val-fraction}: " +
                    std::to_string(options.val_fraction) + " + " + std::to_string(options.test_fraction) + " >= 1");
    std::vector<double> u(data.samples.size());
    std::vector<bool> has_train(data.classes.size(), false);
    for (size_t i = 0; i < data.samples.size(); ++i) {
        Sample& s = data.samples[i];
        u[i] = split_draw(options.seed, s.path);
        s.split = u[i] < options.val_fraction           ? Split::Val
                  : u[i] >= 1.0 - options.test_fraction ? Split::Test
                                                        : Split::Train;
        if (s.split == Split::Train) has_train[static_cast<size_t>(s.label)] = true;
    }
    // A class always keeps a training sample: the validation sample whose draw is largest, else the
    // test sample whose draw is smallest, i.e. the one nearest the training range (rare for classes
    // of more than a few images; such a class's split can then change when images are added).
    const auto nearest_train = [&](size_t i) { return data.samples[i].split == Split::Val ? u[i] : -u[i]; };
    std::vector<std::ptrdiff_t> largest(data.classes.size(), -1);
    for (size_t i = 0; i < data.samples.size(); ++i) {
        auto& l = largest[static_cast<size_t>(data.samples[i].label)];
        if (l < 0 || nearest_train(i) > nearest_train(static_cast<size_t>(l))) l = static_cast<std::ptrdiff_t>(i);
    }
    for (size_t c = 0; c < largest.size(); ++c)
        if (!has_train[c] && largest[c] >= 0) data.samples[static_cast<size_t>(largest[c])].split = Split::Train;
}

}  // namespace

Split parse_split(const std::string& text, const std::string& where) {
    const std::string s = lower(text);
    if (s == "train" || s == "0") return Split::Train;
    if (s == "val" || s == "valid" || s == "validation" || s == "1") return Split::Val;
    if (s == "test" || s == "2") return Split::Test;
    throw Error(where + ": unknown split '" + text + "' (expected train, val or test)");
}

double split_draw(std::uint32_t seed, const std::string& path) {
    const std::uint64_t h = splitmix64(splitmix64(0x73706C6974ull ^ seed) ^ fnv1a64(path));  // "split"
    return static_cast<double>(h >> 11) * 0x1.0p-53;
}

const std::vector<std::string>& image_extensions() {
    static const std::vector<std::string> exts = {".jpg",  ".jpeg", ".png", ".bmp", ".tif", ".tiff",
                                                  ".webp", ".ppm",  ".pgm", ".pnm", ".jp2"};
    return exts;
}

std::string Dataset::file(const Sample& s) const {
    fs::path p(s.path);
    return p.is_absolute() ? p.string() : (fs::path(root) / p).string();
}

std::string Dataset::fingerprint() const {
    std::string text;
    for (const auto& c : classes) text += c + '\n';
    for (const auto& s : samples)
        text += s.path + '\t' + std::to_string(s.label) + '\t' + std::to_string(static_cast<int>(s.split)) + '\n';
    return sha256_bytes(text);
}

Dataset scan_dataset(const std::string& source, const ScanOptions& options) {
    const fs::path path(source);
    if (!fs::exists(path)) throw Error("dataset " + source + " does not exist");
    Dataset data;
    bool split_given = false;
    if (fs::is_directory(path)) {
        data = scan_folder(path);
        data.root = path.string();
    } else {
        std::tie(data, split_given) = scan_csv(path);
        data.root = path.parent_path().empty() ? "." : path.parent_path().string();
    }
    data.source = source;
    data.max_image_bytes = options.max_image_bytes;
    if (!split_given) draw_validation_split(data, options);
    return data;
}

}  // namespace cvtl
