// Frames as they are decoded, through the C++ wrapper (wan/wan.hpp): no file is written; each
// batch of RGB frames is handed to the program (here: its mean brightness is printed), and the
// run stops early with Ctrl-C-like cancellation once `--max-frames` frames have arrived.
//
//   stream_frames CHECKPOINT_DIR [--max-frames N]
//   stream_frames --demo DATA_DIR [--max-frames N]
#include <cstdio>
#include <cstring>
#include <string>

#include "wan/wan.hpp"

int main(int argc, char** argv) {
  if (argc < 2 || (std::strcmp(argv[1], "--demo") == 0 && argc < 3)) {
    std::fprintf(stderr, "usage: %s CHECKPOINT_DIR | --demo DATA_DIR [--max-frames N]\n", argv[0]);
    return 2;
  }
  const bool demo = std::strcmp(argv[1], "--demo") == 0;
  int max_frames = 1 << 30;
  for (int i = demo ? 3 : 2; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--max-frames") == 0) max_frames = std::atoi(argv[i + 1]);
  try {
    wan::api::ContextOptions options;
    options.checkpoint_dir = argv[1];
    if (demo) {
      options.checkpoint_dir = "wan-demo-checkpoint";
      wan::api::prepare_demo_checkpoint(argv[2], options.checkpoint_dir);
    }
    options.on_log = [](wan_log_level level, const std::string& message) {
      if (level >= WAN_LOG_WARNING) std::fprintf(stderr, "library: %s\n", message.c_str());
    };
    wan::api::Context ctx(options);

    wan::api::Request request;
    request.prompt = "Ocean waves rolling onto a black sand beach, aerial view.";
    request.seed = 42;
    if (demo) {
      request.width = 96;
      request.height = 64;
      request.frames = 9;
      request.steps = 3;
    }
    int received = 0;
    request.on_frames = [&](const wan_frames& f) {
      const size_t pixels = size_t(f.width) * size_t(f.height) * 3;
      for (int i = 0; i < f.count; ++i) {
        double sum = 0;
        for (size_t k = 0; k < pixels; ++k) sum += f.rgb[size_t(i) * pixels + k];
        std::printf("frame %d: %dx%d, mean %.1f\n", f.first_index + i, f.width, f.height, sum / double(pixels));
      }
      received += f.count;
      return received < max_frames;  // false stops the run
    };
    const wan_generate_result r = ctx.generate(request);
    std::printf("%d frames streamed (seed %lld)\n", r.frames, (long long)r.seed);
  } catch (const wan::api::Error& e) {
    if (e.status() == WAN_ERROR_CANCELLED) {
      std::printf("stopped after %d frames, as asked\n", max_frames);
      return 0;
    }
    std::fprintf(stderr, "error (%s): %s\n", wan_status_string(e.status()), e.what());
    return 1;
  }
  return 0;
}
