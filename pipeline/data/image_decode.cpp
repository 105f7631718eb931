#include "pipeline/data/image_decode.hpp"

#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cctype>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <vector>

namespace cvtl {
namespace {

// libjpeg decodes a truncated file with a warning and gray filler; a JPEG must end with EOI.
bool jpeg_truncated(const std::vector<uchar>& bytes) {
    if (bytes.size() < 4 || bytes[0] != 0xFF || bytes[1] != 0xD8) return false;
    size_t end = bytes.size();
    while (end > 2 && bytes[end - 1] == 0) --end;  // some writers pad with zeros
    return !(bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9);
}

// The formats cvtl decodes, recognised by their first bytes as OpenCV's own decoder choice does.
// OpenCV picks a decoder by signature, whatever the file's name, and some of its decoders abort the
// process on malformed input (fuzzing found GDCM's DICOM reader asserting on a 133-byte file), so
// anything else is refused before OpenCV sees it.
bool supported_format(const std::vector<uchar>& b) {
    const auto starts = [&](std::initializer_list<int> sig, size_t at = 0) {
        if (b.size() < at + sig.size()) return false;
        size_t i = at;
        for (int c : sig)
            if (b[i++] != c) return false;
        return true;
    };
    const bool jpeg = starts({0xFF, 0xD8, 0xFF});
    const bool png = starts({0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A});
    const bool bmp = starts({'B', 'M'});
    const bool tiff = starts({'I', 'I', 0x2A, 0x00}) || starts({'M', 'M', 0x00, 0x2A});
    const bool webp = starts({'R', 'I', 'F', 'F'}) && starts({'W', 'E', 'B', 'P'}, 8);
    const bool pnm = b.size() >= 3 && b[0] == 'P' && b[1] >= '1' && b[1] <= '6' && std::isspace(b[2]);
    // OpenCV falls through to its later decoders when one of these rejects the bytes after all: GDCM
    // claims any file with "DICM" at offset 128, whatever its first bytes.
    const bool dicom = starts({'D', 'I', 'C', 'M'}, 128);
    return (jpeg || png || bmp || tiff || webp || pnm) && !dicom;
}

}  // namespace

cv::Mat to_bgr8(const cv::Mat& image) {
    cv::Mat out = image;
    if (out.depth() == CV_16U) {
        out.convertTo(out, CV_8U, 255.0 / 65535.0);
    } else if (out.depth() != CV_8U) {
        cv::Mat scaled;
        cv::normalize(out, scaled, 0, 255, cv::NORM_MINMAX, CV_8U);
        out = scaled;
    }
    if (out.channels() == 1)
        cv::cvtColor(out, out, cv::COLOR_GRAY2BGR);
    else if (out.channels() == 4)
        cv::cvtColor(out, out, cv::COLOR_BGRA2BGR);
    return out;
}

cv::Mat decode_bgr8(const std::vector<uchar>& bytes, std::string& reason) {
    if (bytes.empty()) {
        reason = "is empty";
        return {};
    }
    if (!supported_format(bytes)) {
        reason = "cannot be decoded: not a JPEG, PNG, BMP, TIFF, WebP or PNM image (the formats cvtl reads)";
        return {};
    }
    if (jpeg_truncated(bytes)) {
        reason = "is a truncated JPEG";
        return {};
    }
    cv::Mat image;
    try {
        image = cv::imdecode(bytes, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception&) {
        image.release();
    }
    if (image.empty() || (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
        reason = "cannot be decoded: not an image OpenCV reads, or corrupt";
        return {};
    }
    return to_bgr8(image);
}

cv::Mat read_bgr8(const std::string& path, std::string& reason, std::uint64_t max_bytes) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        reason = "cannot be read: no such file or no permission";
        return {};
    }
    if (!S_ISREG(st.st_mode)) {
        reason = "is not a regular file (a FIFO, device or folder); list image files only";
        return {};
    }
    if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
        reason = "is " + std::to_string(st.st_size) + " bytes, over the " + std::to_string(max_bytes) +
                 "-byte limit per image; raise {max-image-mb}";
        return {};
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        reason = "cannot be read: no permission";
        return {};
    }
    // Read at most the limit even if the file grew since stat.
    std::vector<uchar> bytes(static_cast<size_t>(st.st_size));
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<size_t>(in.gcount()));
    return decode_bgr8(bytes, reason);
}

}  // namespace cvtl
