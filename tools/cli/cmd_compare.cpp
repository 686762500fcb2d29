// wan compare A B: two videos (mp4 files or folders of PNG frames) of one size, frame by frame:
// PSNR, SSIM and the largest byte difference per frame, their means, and the worst frame. With
// --min-psnr / --min-ssim the exit status says whether the pair passes (1 when not), so scripts
// can check that an optimisation or a precision mode keeps the picture.
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "args.h"
#include "commands.h"
#include "core/error.h"
#include "core/image_metrics.h"
#include "io/video_reader.h"

namespace wan::cli {
namespace {

const std::vector<OptionSpec> kOptions = {
    {"min-psnr", true, "fail (exit 1) when a frame's PSNR is below this many dB", {}},
    {"min-ssim", true, "fail (exit 1) when a frame's SSIM is below this", {}},
    {"frames", false, "print every frame's numbers (default: the summary)", {}},
    {"help", false, "show this help", {"h"}},
};

std::string db(double v) { return std::isinf(v) ? std::string("inf (identical)") : str(v, " dB"); }

}  // namespace

int cmd_compare(const std::vector<std::string>& argv) {
  Args args(argv, kOptions, "compare");
  if (args.has("help")) {
    std::printf("usage: wan compare A B [--min-psnr DB] [--min-ssim S] [--frames]\n\nA and B are mp4 files or folders "
                "of PNG frames (frame_00000.png, ...) of the same size.\n\n%s",
                options_help(kOptions).c_str());
    return 0;
  }
  WAN_CHECK(args.positionals().size() == 2, "wan compare takes two videos (mp4 files or PNG folders); see --help");
  const std::string a_path = args.positionals()[0], b_path = args.positionals()[1];
  std::vector<RgbFrame> a;
  read_video_frames(a_path, [&](const RgbFrame& f) { a.push_back(f); });
  std::vector<FrameDifference> diffs;
  int64_t b_count = 0;
  read_video_frames(b_path, [&](const RgbFrame& f) {
    const int64_t i = b_count++;
    if (i >= int64_t(a.size())) return;
    WAN_CHECK(f.width == a[size_t(i)].width && f.height == a[size_t(i)].height, "frame ", i, ": ", a_path, " is ",
              a[size_t(i)].width, "x", a[size_t(i)].height, " but ", b_path, " is ", f.width, "x", f.height);
    diffs.push_back(compare_rgb_frames(a[size_t(i)].rgb.data(), f.rgb.data(), f.width, f.height));
  });
  WAN_CHECK(b_count == int64_t(a.size()), a_path, " has ", a.size(), " frames but ", b_path, " has ", b_count);
  WAN_CHECK(!a.empty(), a_path, ": no frames");

  double psnr_sum = 0, ssim_sum = 0;
  int64_t finite = 0, worst = 0;
  int max_abs = 0;
  for (size_t i = 0; i < diffs.size(); ++i) {
    const FrameDifference& d = diffs[i];
    if (args.has("frames"))
      std::printf("frame %zu: PSNR %s, SSIM %.6f, max difference %d\n", i, db(d.psnr).c_str(), d.ssim, d.max_abs);
    if (!std::isinf(d.psnr)) {
      psnr_sum += d.psnr;
      ++finite;
    }
    ssim_sum += d.ssim;
    max_abs = std::max(max_abs, d.max_abs);
    if (d.psnr < diffs[size_t(worst)].psnr) worst = int64_t(i);
  }
  const FrameDifference& w = diffs[size_t(worst)];
  std::printf("%zu frames of %lldx%lld\n", diffs.size(), (long long)a[0].width, (long long)a[0].height);
  std::printf("PSNR: mean %s over %lld differing frames; SSIM: mean %.6f; max difference %d\n",
              finite ? db(psnr_sum / double(finite)).c_str() : "inf (identical)", (long long)finite,
              ssim_sum / double(diffs.size()), max_abs);
  std::printf("worst frame: %lld (PSNR %s, SSIM %.6f, max difference %d)\n", (long long)worst, db(w.psnr).c_str(),
              w.ssim, w.max_abs);
  bool pass = true;
  if (args.has("min-psnr") && w.psnr < args.get_double("min-psnr", 0)) pass = false;
  if (args.has("min-ssim")) {
    const double min_ssim = args.get_double("min-ssim", 0);
    for (const FrameDifference& d : diffs)
      if (d.ssim < min_ssim) pass = false;
  }
  if (args.has("min-psnr") || args.has("min-ssim")) std::printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

}  // namespace wan::cli
