// The built-in demo checkpoint: a folder in the official T2V-A14B layout assembled from the tiny
// models of the golden data (two 2-layer experts, the tiny Wan 2.1 VAE, a 2-layer UMT5 encoder)
// and the test SentencePiece model, with the small models' configs beside their .pth files. Its
// weights are random (the official code's initialisation): the video it makes is noise; it shows
// that every stage runs, in seconds.
#pragma once

#include <string>

namespace wan {

// Creates (or completes) the demo folder at `dest` from `data_dir` (tests/data of the source
// tree) and returns `dest`. Writes to a temporary folder first and renames it into place.
std::string ensure_demo_checkpoint(const std::string& dest, const std::string& data_dir);

}  // namespace wan
