#include "pipeline/report/chart.hpp"

#include "pipeline/core/error.hpp"

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <plplot.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <mutex>

namespace cvtl {

namespace {

// k * step, as the double nearest the decimal value: 14 * 0.05 is 0.7000000000000001, 14 / 20.0 is 0.7.
double tick_multiple(double k, double step) {
    const double inverse = std::round(1 / step);
    return step < 1 && std::abs(inverse * step - 1) < 1e-9 ? k / inverse : k * step;
}

}  // namespace

AxisTicks nice_ticks(double lo, double hi, int target, double min_step) {
    if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
    if (lo > hi) std::swap(lo, hi);
    if (hi - lo <= 1e-12 * std::max(1.0, std::abs(hi))) {  // one value: an interval around it
        const double pad = lo == 0 ? 1 : 0.1 * std::abs(lo);
        lo -= pad, hi += pad;
    }
    const double raw = (hi - lo) / std::max(1, target);
    const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
    const double m = raw / magnitude;
    double step = magnitude * (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10);
    step = std::max(step, min_step);
    // The tolerance keeps 0.3 / 0.1 = 2.9999999999999996 from adding a tick below 0.3.
    return {tick_multiple(std::floor(lo / step + 1e-9), step), tick_multiple(std::ceil(hi / step - 1e-9), step), step};
}

namespace {

// PLplot's state is process-wide (current stream, handlers, driver table): one plot at a time.
std::mutex plplot_mutex;
std::string plplot_complaint;  // the last plabort message of the plot in progress

// PLplot would print these to stderr (plabort) or print them and exit the process (plexit): the
// exit handler throws instead, so the failure reaches the caller as cvtl::Error.
void abort_handler(const char* message) { plplot_complaint = message ? message : "?"; }
int exit_handler(const char* message) { throw Error(std::string("PLplot failed: ") + (message ? message : "?")); }

// '#' starts a PLplot escape sequence ("#u" superscript...): a literal one is doubled.
std::string plain(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '#' ? std::string("##") : std::string(1, c);
    return out;
}

bool driver_installed(const std::string& name) {
    std::vector<const char*> menu_storage(128), name_storage(128);  // plgDevs fills caller-owned arrays
    const char** menus = menu_storage.data();
    const char** names = name_storage.data();
    int n = static_cast<int>(name_storage.size());
    plgDevs(&menus, &names, &n);
    for (int i = 0; i < n; ++i)
        if (name == names[i]) return true;
    return false;
}

std::string driver_locked() { return driver_installed("memcairo") ? "memcairo" : "mem"; }

// Colour map 0: 0 white background, 1 black ink, 2 light grid, 3.. the series palette (RGB).
void set_palette() {
    static const int rgb[][3] = {{255, 255, 255}, {0, 0, 0},       {215, 215, 215}, {31, 119, 180},
                                 {255, 127, 14},  {44, 160, 44},   {214, 39, 40},   {148, 103, 189},
                                 {140, 86, 75},   {227, 119, 194}, {127, 127, 127}};
    plscmap0n(16);
    for (int i = 0; i < 11; ++i) plscol0(i, rgb[i][0], rgb[i][1], rgb[i][2]);
}
int series_color(size_t k) { return 3 + static_cast<int>(k % 8); }

// One chart being drawn: holds the lock and a fresh PLplot stream rendering into `image` (RGB).
class Plot {
public:
    explicit Plot(cv::Mat& image) : lock_(plplot_mutex) {
        plgstrm(&previous_);
        plsabort(abort_handler);
        plsexit(exit_handler);
        plplot_complaint.clear();
        const std::string driver = driver_locked();
        plmkstrm(&stream_);
        try {
            plsdev(driver.c_str());
            set_palette();
            plsmem(image.cols, image.rows, image.data);
            plinit();
            pladv(0);
        } catch (...) {
            close();
            throw;
        }
    }
    ~Plot() { close(); }
    Plot(const Plot&) = delete;
    Plot& operator=(const Plot&) = delete;

    // Ends the plot (the driver writes the last of its drawing into the image) and reports aborts.
    void finish() {
        close();
        if (!plplot_complaint.empty()) throw Error("PLplot could not draw the chart: " + plplot_complaint);
    }

private:
    void close() {
        if (stream_ < 0) return;
        plend1();
        plsstrm(previous_);
        stream_ = -1;
    }
    std::lock_guard<std::mutex> lock_;
    PLINT previous_ = 0, stream_ = -1;
};

// The subpage's size in millimetres, to turn text lengths into viewport fractions.
cv::Size2d page_mm() {
    PLFLT x0, x1, y0, y1;
    plgspa(&x0, &x1, &y0, &y1);
    return {x1 - x0, y1 - y0};
}

// Character height in millimetres (PLplot's current scale).
double char_mm() {
    PLFLT def, ht;
    plgchr(&def, &ht);
    return ht;
}

// Width of the longest text, in character heights (0.8 of a height per character: DejaVu Sans's mean
// width is about that, measured on cairo's output; Hershey's is narrower).
double text_width(const std::vector<std::string>& texts) {
    size_t longest = 0;
    for (const auto& t : texts) longest = std::max(longest, t.size());
    return 0.8 * static_cast<double>(longest);
}

std::vector<std::string> series_names(const LineChart& c) {
    std::vector<std::string> names;
    for (const auto& s : c.series) names.push_back(plain(s.name));
    return names;
}

size_t positions(const LineChart& c) { return c.x_categories.empty() ? c.x_values.size() : c.x_categories.size(); }

double x_at(const LineChart& c, size_t i) { return c.x_categories.empty() ? c.x_values[i] : static_cast<double>(i); }

void check(const LineChart& c) {
    if (!c.x_categories.empty() && !c.x_values.empty())
        throw Error("chart '" + c.title + "': x is either categorical or numeric, not both");
    if (positions(c) == 0) throw Error("chart '" + c.title + "' has no x positions");
    for (const auto& s : c.series)
        if (s.values.size() != positions(c))
            throw Error("chart '" + c.title + "': series '" + s.name + "' has " + std::to_string(s.values.size()) +
                        " values for " + std::to_string(positions(c)) + " x positions");
}

// The axis range: the caller's bounds where given, else the data's, widened to whole ticks.
AxisTicks axis_ticks(const ChartAxis& axis, double data_lo, double data_hi) {
    const double lo = std::isnan(axis.min) ? data_lo : axis.min, hi = std::isnan(axis.max) ? data_hi : axis.max;
    AxisTicks t = nice_ticks(lo, hi, 5, axis.min_step);
    if (!std::isnan(axis.min)) t.min = axis.min;
    if (!std::isnan(axis.max)) t.max = axis.max;
    return t;
}

AxisTicks y_ticks(const LineChart& c) {
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& s : c.series)
        for (double v : s.values)
            if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    return axis_ticks(c.y, lo, hi);
}

AxisTicks x_ticks(const LineChart& c) {
    if (!c.x_categories.empty()) return {-0.5, static_cast<double>(c.x_categories.size()) - 0.5, 1};
    const auto [lo, hi] = std::minmax_element(c.x_values.begin(), c.x_values.end());
    return axis_ticks(c.x, *lo, *hi);
}

// The title, centred on the page and made smaller where it would not fit across it.
void draw_title(const std::string& title) {
    const double fits = 0.98 * page_mm().width / (text_width({title}) * char_mm() + 1e-9);
    PLFLT vx0, vx1, vy0, vy1;
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    const double centre = (0.5 - vx0) / (vx1 - vx0);  // the page's centre, as a fraction of the viewport
    plschr(0, std::min(1.0, fits));
    plmtex("t", 1.2 / std::min(1.0, fits), centre, 0.5, plain(title).c_str());
    plschr(0, 1);
}

// How far the y tick labels reach left of the axis, in character heights.
double y_labels_width(const AxisTicks& y) {
    double widest = 0;
    for (double v = y.min; v <= y.max + y.step / 2; v += y.step) {
        char label[32];
        std::snprintf(label, sizeof label, "%g", std::abs(v) < y.step / 2 ? 0.0 : v);
        widest = std::max(widest, text_width({label}));
    }
    return widest + 1;
}

// The plot area in the page, leaving room for tick labels, axis labels, title and the legend.
void line_viewport(const LineChart& c, const AxisTicks& y) {
    const cv::Size2d page = page_mm();
    const double ch = char_mm();
    const double left = (y_labels_width(y) + 2.5) * ch / page.width;
    const double legend = c.series.empty() ? 1.5 * ch : (text_width(series_names(c)) + 6) * ch;
    plvpor(left, 1 - legend / page.width, 4.2 * ch / page.height, 1 - 3 * ch / page.height);
}

void draw_axes(const LineChart& c, const AxisTicks& x, const AxisTicks& y) {
    plwind(x.min, x.max, y.min, y.max);
    const bool categorical = !c.x_categories.empty();
    plcol0(2);
    plbox(categorical ? "" : "g", x.step, 0, "g", y.step, 0);
    plcol0(1);
    plbox(categorical ? "bc" : "bcnst", x.step, 0, "bcnstv", y.step, 0);
    for (size_t i = 0; i < c.x_categories.size(); ++i) {
        const double at = (static_cast<double>(i) - x.min) / (x.max - x.min);
        plmtex("b", 1.5, at, 0.5, plain(c.x_categories[i]).c_str());
    }
    plmtex("b", 3.0, 0.5, 0.5, plain(c.x.label).c_str());
    plmtex("l", y_labels_width(y) + 1.2, 0.5, 0.5, plain(c.y.label).c_str());
    draw_title(c.title);
}

// A line through each run of consecutive finite values, and a dot at every value.
void draw_series(const LineChart& c, size_t k) {
    const auto& values = c.series[k].values;
    plcol0(series_color(k));
    plwidth(2);
    plssym(0, 1.5);
    std::vector<PLFLT> xs, ys;
    for (size_t i = 0; i <= values.size(); ++i) {
        if (i < values.size() && std::isfinite(values[i])) {
            xs.push_back(x_at(c, i)), ys.push_back(values[i]);
            continue;
        }
        if (xs.size() > 1) plline(static_cast<PLINT>(xs.size()), xs.data(), ys.data());
        if (!xs.empty())
            plpoin(static_cast<PLINT>(xs.size()), xs.data(), ys.data(), 17);  // a lone value shows as a dot
        xs.clear(), ys.clear();
    }
    plwidth(1);
}

void draw_legend(const LineChart& c) {
    if (c.series.empty()) return;
    const auto n = c.series.size();
    const std::vector<std::string> names = series_names(c);
    std::vector<const char*> text;
    for (const auto& s : names) text.push_back(s.c_str());
    std::vector<PLINT> opts(n, PL_LEGEND_LINE), colors(n), styles(n, 1), ink(n, 1);
    std::vector<PLFLT> widths(n, 2);
    for (size_t k = 0; k < n; ++k) colors[k] = series_color(k);
    PLFLT w, h;
    pllegend(&w, &h, 0, PL_POSITION_RIGHT | PL_POSITION_OUTSIDE, 0.01, 0, 0.05, 0, 1, 1, 0, 0, static_cast<PLINT>(n),
             opts.data(), 1.0, 1.0, 2.0, 0.0, ink.data(), text.data(), nullptr, nullptr, nullptr, nullptr,
             colors.data(), styles.data(), widths.data(), nullptr, nullptr, nullptr, nullptr);
}

void check(const Heatmap& m) {
    const size_t rows = m.row_names.size(), cols = m.column_names.size();
    if (rows == 0 || cols == 0) throw Error("heatmap '" + m.title + "' has no rows or no columns");
    bool fits = m.shade.size() == rows && m.text.size() == rows;
    for (size_t r = 0; fits && r < rows; ++r) fits = m.shade[r].size() == cols && m.text[r].size() == cols;
    if (!fits)
        throw Error("heatmap '" + m.title + "': shade and text must be " + std::to_string(rows) + " rows of " +
                    std::to_string(cols) + " cells, one per row and column name");
}

// Square cells, room on the left for the row names and below for the column names (written upwards).
void heatmap_viewport(const Heatmap& m) {
    const cv::Size2d page = page_mm();
    const double ch = char_mm();
    const double left = (text_width(m.row_names) + 3) * ch, bottom = (text_width(m.column_names) + 3) * ch,
                 top = 3 * ch, right = ch;
    const double side = std::min((page.width - left - right) / static_cast<double>(m.column_names.size()),
                                 (page.height - bottom - top) / static_cast<double>(m.row_names.size()));
    const double w = side * static_cast<double>(m.column_names.size()),
                 h = side * static_cast<double>(m.row_names.size());
    plvpor(left / page.width, (left + w) / page.width, 1 - (top + h) / page.height, 1 - top / page.height);
}

// Colour map 1 from white (0) to a dark blue (1), through RGB.
void set_shades(int width_px) {
    const PLFLT at[] = {0, 1}, r[] = {1, 0.03}, g[] = {1, 0.19}, b[] = {1, 0.42};
    plscmap1n(256);
    plscmap1l(1, 2, at, r, g, b, nullptr);
    // The plain "mem" driver cannot fill: PLplot would warn on stderr and cross-hatch. Horizontal
    // lines half a pixel apart (in micrometres) fill solidly in software, silently.
    char driver[80] = "";
    plgdev(driver);
    if (std::string(driver) != "mem") return;
    const PLINT angle[] = {0}, spacing[] = {static_cast<PLINT>(std::max(1.0, 500 * page_mm().width / width_px))};
    plpat(1, angle, spacing);
}

// Cell (row, col) covers [col, col+1] x [row, row+1] of a window whose y grows downwards.
void draw_cell(const Heatmap& m, size_t row, size_t col) {
    const double shade = std::clamp(std::isfinite(m.shade[row][col]) ? m.shade[row][col] : 0.0, 0.0, 1.0);
    const PLFLT x0 = static_cast<PLFLT>(col), y0 = static_cast<PLFLT>(row);
    const PLFLT xs[] = {x0, x0 + 1, x0 + 1, x0, x0}, ys[] = {y0, y0, y0 + 1, y0 + 1, y0};
    plcol1(shade);
    plfill(4, xs, ys);
    plcol0(2);
    plline(5, xs, ys);
    plcol0(shade > 0.55 ? 0 : 1);  // white on dark cells
    plptex(x0 + 0.5, y0 + 0.5, 1, 0, 0.5, plain(m.text[row][col]).c_str());
}

void draw_heatmap_labels(const Heatmap& m) {
    const auto rows = static_cast<double>(m.row_names.size()), cols = static_cast<double>(m.column_names.size());
    plcol0(1);
    plbox("bc", 0, 0, "bc", 0, 0);
    for (size_t r = 0; r < m.row_names.size(); ++r)
        plmtex("lv", 0.7, 1 - (static_cast<double>(r) + 0.5) / rows, 1, plain(m.row_names[r]).c_str());
    for (size_t c = 0; c < m.column_names.size(); ++c)
        plmtex("bv", 0.7, (static_cast<double>(c) + 0.5) / cols, 1, plain(m.column_names[c]).c_str());
    plmtex("l", text_width(m.row_names) + 1.5, 0.5, 0.5, plain(m.y_label).c_str());
    plmtex("b", text_width(m.column_names) + 2, 0.5, 0.5, plain(m.x_label).c_str());
    draw_title(m.title);
}

// A white RGB canvas for PLplot; returned as BGR for OpenCV.
cv::Mat canvas(cv::Size size) {
    if (size.width < 64 || size.height < 64 || size.width > 8192 || size.height > 8192)
        throw Error("chart size " + std::to_string(size.width) + "x" + std::to_string(size.height) +
                    " is outside 64..8192 pixels");
    return cv::Mat(size, CV_8UC3, cv::Scalar(255, 255, 255));
}
cv::Mat to_bgr(const cv::Mat& rgb) {
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    return bgr;
}

}  // namespace

std::string chart_driver() {
    std::lock_guard<std::mutex> lock(plplot_mutex);
    return driver_locked();
}

cv::Mat render_line_chart(const LineChart& c, cv::Size size) {
    check(c);
    cv::Mat image = canvas(size);
    Plot plot(image);
    const AxisTicks x = x_ticks(c), y = y_ticks(c);
    line_viewport(c, y);
    draw_axes(c, x, y);
    for (size_t k = 0; k < c.series.size(); ++k) draw_series(c, k);
    draw_legend(c);
    plot.finish();
    return to_bgr(image);
}

cv::Mat render_heatmap(const Heatmap& m, cv::Size size) {
    check(m);
    cv::Mat image = canvas(size);
    Plot plot(image);
    heatmap_viewport(m);
    plwind(0, static_cast<double>(m.column_names.size()), static_cast<double>(m.row_names.size()), 0);
    set_shades(size.width);
    for (size_t r = 0; r < m.row_names.size(); ++r)
        for (size_t c = 0; c < m.column_names.size(); ++c) draw_cell(m, r, c);
    draw_heatmap_labels(m);
    plot.finish();
    return to_bgr(image);
}

void write_chart_png(const std::string& path, const cv::Mat& image) {
    bool written = false;
    try {
        written = cv::imwrite(path, image);
    } catch (const cv::Exception&) {}
    if (!written) throw Error("cannot write the chart " + path + " (does the directory exist and is it writable?)");
}

}  // namespace cvtl
