// Where a checkpoint folder keeps its parts (wan22-reference.md §1.4 names the official files and
// folders). In place of the official ones the folder may hold ComfyUI's repackaged files, copied or
// linked in from its diffusion_models/, text_encoders/ and vae/ folders:
//   - the UMT5-XXL encoder as one `umt5*.safetensors` file (umt5_xxl_fp16.safetensors,
//     umt5_xxl_fp8_e4m3fn_scaled.safetensors, ...) in Hugging Face's tensor names, which
//     T5Encoder::load reads as well as the official ones;
//   - the VAE as safetensors with the official tensor names: wan_2.1_vae.safetensors (T2V-A14B's
//     Wan2.1 VAE) or wan2.2_vae.safetensors (TI2V-5B's);
//   - T2V-A14B's two experts as single files in the folder itself, their names saying which:
//     `*high_noise*.safetensors` and `*low_noise*.safetensors` (ComfyUI's
//     wan2.2_t2v_high_noise_14B_fp8_scaled.safetensors, ...), in place of high_noise_model/ and
//     low_noise_model/.
// The official file wins where both are present. The tokenizer is google/umt5-xxl/, or the one a
// ComfyUI text encoder file may carry.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "pipeline/task_config.h"

namespace wan {

// The text encoder's file in `dir`, or nullopt when there is none. Throws, naming them, when no
// official file is there and several umt5*.safetensors are: which one is meant is the user's call.
std::optional<std::filesystem::path> find_text_encoder(const std::filesystem::path& dir);

// T2V-A14B's expert `name` ("high_noise_model" or "low_noise_model"): that folder where it holds a
// DiT, else the one single file in `dir` whose name has "high_noise" / "low_noise" in it; nullopt
// when neither. Throws, naming them, when several such files stand in for a missing folder.
std::optional<std::filesystem::path> find_expert(const std::filesystem::path& dir, const std::string& name);
// Whether `dir` holds anything of T2V-A14B's experts: either folder, or a file named as one.
bool has_expert(const std::filesystem::path& dir);

// Whether `dir` holds a text encoder file, one or several (a whole checkpoint folder, not a DiT's).
bool has_text_encoder_file(const std::filesystem::path& dir);

// The tokenizer: `dir`/google/umt5-xxl/ where it has spiece.model, else the text encoder file
// when that carries its own (ComfyUI's may: "spiece_model", models/t5_encoder.h); nullopt when
// neither. `text_encoder` may be null (none found).
std::optional<std::filesystem::path> find_tokenizer(const std::filesystem::path& dir,
                                                    const std::optional<std::filesystem::path>& text_encoder);

// The task's VAE file in `dir`, or nullopt.
std::optional<std::filesystem::path> find_vae(const std::filesystem::path& dir, const TaskConfig& task);

// ComfyUI's name for the task's VAE file.
const char* comfy_vae_file(const TaskConfig& task);

// What a missing-file message asks for: the official name, "or" ComfyUI's.
std::string text_encoder_expectation();
std::string tokenizer_expectation();
std::string vae_expectation(const TaskConfig& task);

}  // namespace wan
