// The image path: decode any bytes as 8-bit BGR, then preprocess them as extract would. A result is
// a 3-channel 8-bit image and finite network input, or a reason string; never a crash.
#include "pipeline/data/image_decode.hpp"
#include "pipeline/data/preprocess.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

// OpenCV reads OPENCV_IO_MAX_IMAGE_PIXELS once, when libopencv_imgcodecs loads, so tools/fuzz.sh sets
// it in the environment: a 64 KB input declaring a 1-gigapixel image would otherwise make the
// decoder allocate 3 GB before it finds the data missing, which the fuzzer's memory limit reports.
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
    std::string reason;
    const cv::Mat bgr = cvtl::decode_bgr8(std::vector<uchar>(data, data + size), reason);
    if (bgr.empty()) {
        if (reason.empty()) std::abort();
        return 0;
    }
    if (bgr.type() != CV_8UC3) std::abort();
    for (const bool crop : {false, true}) {
        cvtl::Preprocessing p = cvtl::make_preprocessing(cvtl::Preset::torchvision, 32);
        p.crop = crop;
        std::vector<float> planes(3 * 32 * 32);
        cvtl::preprocess_image(bgr, p, planes.data());
        for (float v : planes)
            if (!std::isfinite(v)) std::abort();
    }
    return 0;
}
