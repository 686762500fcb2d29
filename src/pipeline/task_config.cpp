#include "pipeline/task_config.h"

#include "core/error.h"
#include "core/text.h"

namespace wan {

const char* const kT5Checkpoint = "models_t5_umt5-xxl-enc-bf16.pth";
const char* const kT5Tokenizer = "google/umt5-xxl";
// shared_config.py L19, with its full-width commas.
const char* const kDefaultNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低质量，JPEG压缩残留，"
    "丑陋的，残缺的，多余的手指，画得不好的手部，画得不好的脸部，畸形的，毁容的，形态畸形的肢体，手指融合，静止不动的画面，"
    "杂乱的背景，三条腿，背景人很多，倒着走";

const TaskConfig& task_config(const std::string& name) {
  static const TaskConfig t2v{"t2v-A14B", true, 0.875, 16, {4, 8, 8}, {1, 2, 2}, "Wan2.1_VAE.pth", 16, 81, 40, 12.0,
                              3.0, 4.0, {1280, 720}, {{720, 1280}, {1280, 720}, {480, 832}, {832, 480}}};
  static const TaskConfig ti2v{"ti2v-5B", false, 0.0, 48, {4, 16, 16}, {1, 2, 2}, "Wan2.2_VAE.pth", 24, 121, 50, 5.0,
                               5.0, 5.0, {1280, 704}, {{704, 1280}, {1280, 704}}};
  const std::string n = ascii_lower(name);
  if (n == "t2v-a14b") return t2v;
  if (n == "ti2v-5b") return ti2v;
  fail("unknown task '", name, "' (supported: t2v-A14B, ti2v-5B)");
}

WanDiTConfig official_dit_config(const TaskConfig& task) {
  return task.two_experts ? WanDiTConfig::t2v_a14b() : WanDiTConfig::ti2v_5b();
}

}  // namespace wan
