#pragma once
// A contact sheet: images in a grid, each tile with lines of text under it (evaluate's worst errors,
// as fastai's plot_top_losses shows them). The caller supplies every text.
#include <string>
#include <vector>

namespace cvtl {

struct SheetTile {
    std::string image;               // a file OpenCV can decode; a tile that cannot be read says so
    std::vector<std::string> lines;  // under the image, e.g. "true cat", "predicted dog 0.93"
};

// Writes the tiles as a PNG grid (as square as the count allows, `tile` pixels per image).
// Throws cvtl::Error naming `path` when it cannot be written.
void write_contact_sheet(const std::string& path, const std::vector<SheetTile>& tiles, int tile = 160);

}  // namespace cvtl
