#include "pipeline/data/image_decode.hpp"
#include "support/fixtures.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <opencv2/imgcodecs.hpp>

using namespace cvtl;

TEST_SUITE("unit") {
    TEST_CASE("gray and alpha and 16-bit images become 8-bit BGR") {
        cv::Mat gray(4, 5, CV_8UC1, cv::Scalar(7));
        cv::Mat bgra(4, 5, CV_8UC4, cv::Scalar(1, 2, 3, 200));
        cv::Mat deep(4, 5, CV_16UC3, cv::Scalar(0, 257 * 10, 65535));
        for (const cv::Mat& m : {gray, bgra, deep}) CHECK(to_bgr8(m).type() == CV_8UC3);
        CHECK(to_bgr8(gray).at<cv::Vec3b>(0, 0) == cv::Vec3b(7, 7, 7));
        CHECK(to_bgr8(bgra).at<cv::Vec3b>(0, 0) == cv::Vec3b(1, 2, 3));
        CHECK(to_bgr8(deep).at<cv::Vec3b>(0, 0) == cv::Vec3b(0, 10, 255));
    }

    TEST_CASE("every fixture image decodes") {
        for (const char* f :
             {"images/cat/img0.jpg", "images/cat/img1.png", "images/cat/img2.png", "images/cat/img3.png"}) {
            std::string reason;
            cv::Mat m = read_bgr8(test::fixture(f), reason);
            CHECK(m.type() == CV_8UC3);
            CHECK(reason.empty());
        }
    }

    TEST_CASE("unreadable files give a reason instead of an image") {
        test::TempDir dir;
        std::string reason;
        CHECK(read_bgr8(dir / "missing.jpg", reason).empty());
        CHECK(reason.find("cannot be read") != std::string::npos);

        test::write_file(dir / "empty.png", "");
        CHECK(read_bgr8(dir / "empty.png", reason).empty());
        CHECK(reason == "is empty");

        test::write_file(dir / "text.jpg", "definitely not an image");
        CHECK(read_bgr8(dir / "text.jpg", reason).empty());
        CHECK(reason.find("cannot be decoded") != std::string::npos);

        // libjpeg would decode this with gray filler and a warning; cvtl skips it.
        const std::string jpeg = test::read_file(test::fixture("images/cat/img0.jpg"));
        test::write_file(dir / "cut.jpg", jpeg.substr(0, jpeg.size() * 2 / 3));
        CHECK(read_bgr8(dir / "cut.jpg", reason).empty());
        CHECK(reason == "is a truncated JPEG");

        const std::string png = test::read_file(test::fixture("images/cat/img1.png"));
        test::write_file(dir / "cut.png", png.substr(0, png.size() / 2));
        CHECK(read_bgr8(dir / "cut.png", reason).empty());
    }

    TEST_CASE("only regular files are read - and no more than the byte limit") {
        test::TempDir dir;
        std::string reason;
        // A FIFO would block the reader for ever; a device never ends.
        REQUIRE(::mkfifo((dir / "pipe.jpg").c_str(), 0600) == 0);
        CHECK(read_bgr8(dir / "pipe.jpg", reason).empty());
        CHECK(reason.find("is not a regular file") != std::string::npos);
        CHECK(read_bgr8("/dev/zero", reason).empty());
        CHECK(reason.find("is not a regular file") != std::string::npos);
        const std::string png = test::read_file(test::fixture("images/cat/img1.png"));
        test::write_file(dir / "big.png", png);
        CHECK(read_bgr8(dir / "big.png", reason, png.size() - 1).empty());
        CHECK(reason.find("over the " + std::to_string(png.size() - 1) + "-byte limit") != std::string::npos);
        CHECK_FALSE(read_bgr8(dir / "big.png", reason, png.size()).empty());
    }

    TEST_CASE("bytes in memory decode as the file does - and a header claiming 40 gigapixels is refused") {
        const std::string png = test::read_file(test::fixture("images/dog/img2.png"));
        std::string reason;
        const cv::Mat from_file = read_bgr8(test::fixture("images/dog/img2.png"), reason);
        const cv::Mat from_bytes = decode_bgr8(std::vector<uchar>(png.begin(), png.end()), reason);
        REQUIRE(from_bytes.type() == CV_8UC3);
        CHECK(cv::norm(from_file, from_bytes, cv::NORM_INF) == 0);

        // A 54-byte BMP header declaring 200000 x 200000 24-bit pixels and no pixel data.
        std::vector<uchar> bmp(54, 0);
        const auto put32 = [&](size_t at, std::uint32_t v) {
            for (int i = 0; i < 4; ++i) bmp[at + i] = static_cast<uchar>(v >> (8 * i));
        };
        bmp[0] = 'B';
        bmp[1] = 'M';
        put32(2, 54);       // file size (a lie either way)
        put32(10, 54);      // pixel data offset
        put32(14, 40);      // BITMAPINFOHEADER
        put32(18, 200000);  // width
        put32(22, 200000);  // height
        bmp[26] = 1;        // planes
        bmp[28] = 24;       // bits per pixel
        CHECK(decode_bgr8(bmp, reason).empty());
        CHECK(reason.find("cannot be decoded") != std::string::npos);
    }

    TEST_CASE("only the formats cvtl reads reach OpenCV: a DICOM header aborted its GDCM decoder") {
        // The fuzzer's input (tests/fuzz/corpus/image_decode/gdcm-abort): GDCM asserted, killing the process.
        const std::string found = test::read_file(test::fixture("../fuzz/corpus/image_decode/gdcm-abort"));
        std::string reason;
        CHECK(decode_bgr8(std::vector<uchar>(found.begin(), found.end()), reason).empty());
        CHECK(reason.find("not a JPEG, PNG, BMP, TIFF, WebP or PNM image") != std::string::npos);
        // The second input it found: a WebP signature that OpenCV's WebP decoder rejects, so GDCM was next.
        const std::string webp_dicom = test::read_file(test::fixture("../fuzz/corpus/image_decode/gdcm-abort-webp"));
        CHECK(decode_bgr8(std::vector<uchar>(webp_dicom.begin(), webp_dicom.end()), reason).empty());
        std::vector<uchar> dicom(128, 0);
        for (char c : std::string("DICM\x02\x00\x00\x00")) dicom.push_back(static_cast<uchar>(c));
        CHECK(decode_bgr8(dicom, reason).empty());
        // Every supported format still decodes, whatever the file is called.
        cv::Mat image(6, 4, CV_8UC3, cv::Scalar(10, 20, 30));
        for (const char* ext : {".png", ".jpg", ".bmp", ".tiff", ".webp", ".ppm"}) {
            CAPTURE(ext);
            std::vector<uchar> bytes;
            REQUIRE(cv::imencode(ext, image, bytes));
            CHECK(decode_bgr8(bytes, reason).size() == image.size());
        }
    }

}  // TEST_SUITE
