#include "pipeline/dist/shared_dataset.hpp"

#include "pipeline/core/error.hpp"

#include <cstring>

namespace cvtl {
namespace {

void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_text(std::string& out, const std::string& s) {
    put_u64(out, s.size());
    out += s;
}

struct Reader {
    const std::string& in;
    std::size_t at = 0;
    std::uint64_t u64() {
        if (in.size() - at < sizeof(std::uint64_t)) CVTL_INTERNAL("the broadcast dataset is truncated");
        std::uint64_t v;
        std::memcpy(&v, in.data() + at, sizeof v);
        at += sizeof v;
        return v;
    }
    std::string text() {
        const std::uint64_t n = u64();
        if (n > in.size() - at) CVTL_INTERNAL("the broadcast dataset is truncated");
        std::string s = in.substr(at, n);
        at += n;
        return s;
    }
};

}  // namespace

std::string dataset_to_bytes(const Dataset& data) {
    std::string out;
    put_text(out, data.source);
    put_text(out, data.root);
    put_u64(out, data.max_image_bytes);
    put_u64(out, data.classes.size());
    for (const auto& c : data.classes) put_text(out, c);
    put_u64(out, data.samples.size());
    for (const auto& s : data.samples) {
        put_text(out, s.path);
        put_u64(out, static_cast<std::uint64_t>(s.label));
        put_u64(out, static_cast<std::uint64_t>(s.split));
    }
    return out;
}

Dataset dataset_from_bytes(const std::string& bytes) {
    Reader r{bytes};
    Dataset d;
    d.source = r.text();
    d.root = r.text();
    d.max_image_bytes = r.u64();
    const std::uint64_t classes = r.u64();
    if (classes > bytes.size()) CVTL_INTERNAL("the broadcast dataset is malformed");
    for (std::uint64_t i = 0; i < classes; ++i) d.classes.push_back(r.text());
    const std::uint64_t samples = r.u64();
    if (samples > bytes.size()) CVTL_INTERNAL("the broadcast dataset is malformed");
    d.samples.resize(samples);
    for (auto& s : d.samples) {
        s.path = r.text();
        const std::uint64_t label = r.u64(), split = r.u64();
        if (label >= classes || split > 2) CVTL_INTERNAL("the broadcast dataset is malformed");
        s.label = static_cast<int>(label);
        s.split = static_cast<Split>(split);
    }
    if (r.at != bytes.size()) CVTL_INTERNAL("the broadcast dataset is malformed");
    return d;
}

Dataset scan_on_root(const Communicator& comm, const std::function<Dataset()>& scan) {
    if (!comm.distributed()) return scan();
    return dataset_from_bytes(comm.from_root([&] { return dataset_to_bytes(scan()); }));
}

}  // namespace cvtl
