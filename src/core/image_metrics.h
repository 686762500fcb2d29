// Picture differences between two RGB24 frames of one size, for `wan compare`:
//   psnr: 10·log10(255² / MSE) over every byte (R, G and B); +inf for identical frames.
//   ssim: the structural similarity of Wang et al. (2004) on BT.601 luma
//         (Y = 0.299 R + 0.587 G + 0.114 B), an 11x11 Gaussian window with σ = 1.5 over the
//         positions where it fits, C1 = (0.01·255)², C2 = (0.03·255)²; frames smaller than the
//         window use one window over the whole frame. 1 for identical frames.
//   max_abs: the largest byte difference.
#pragma once

#include <cstdint>

namespace wan {

struct FrameDifference {
  double psnr = 0, ssim = 0;
  int max_abs = 0;
};

FrameDifference compare_rgb_frames(const uint8_t* a, const uint8_t* b, int64_t width, int64_t height);

}  // namespace wan
