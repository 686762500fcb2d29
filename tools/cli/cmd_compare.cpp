// wan compare A B: two videos (mp4 files or folders of PNG frames) of one size, frame by frame:
// PSNR, SSIM and the largest byte difference per frame, their means, and the worst frame. With
// --min-psnr / --min-ssim the exit status says whether the pair passes (1 when not), so scripts
// can check that an optimisation or a precision mode keeps the picture. Built on the public API
// (wan_compare_videos).
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "args.h"
#include "commands.h"
#include "cli_error.h"
#include "wan/wan.hpp"

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
  CLI_CHECK(args.positionals().size() == 2, "wan compare takes two videos (mp4 files or PNG folders); see --help");
  const api::VideoComparison c = api::compare_videos(args.positionals()[0], args.positionals()[1]);
  if (args.has("frames"))
    for (size_t i = 0; i < c.frames.size(); ++i)
      std::printf("frame %zu: PSNR %s, SSIM %.6f, max difference %d\n", i, db(c.frames[i].psnr).c_str(),
                  c.frames[i].ssim, c.frames[i].max_abs);
  const wan_video_comparison& s = c.summary;
  std::printf("%lld frames of %lldx%lld\n", (long long)s.frames, (long long)s.width, (long long)s.height);
  std::printf("PSNR: mean %s over %lld differing frames; SSIM: mean %.6f; max difference %d\n",
              db(s.mean_psnr).c_str(), (long long)s.differing_frames, s.mean_ssim, s.max_abs);
  std::printf("worst frame: %lld (PSNR %s, SSIM %.6f, max difference %d)\n", (long long)s.worst_frame,
              db(s.worst.psnr).c_str(), s.worst.ssim, s.worst.max_abs);
  bool pass = true;
  if (args.has("min-psnr") && s.worst.psnr < args.get_double("min-psnr", 0)) pass = false;
  if (args.has("min-ssim")) {
    const double min_ssim = args.get_double("min-ssim", 0);
    for (const wan_frame_difference& d : c.frames)
      if (d.ssim < min_ssim) pass = false;
  }
  if (args.has("min-psnr") || args.has("min-ssim")) std::printf("%s\n", pass ? "PASS" : "FAIL");
  return pass ? 0 : 1;
}

}  // namespace wan::cli
