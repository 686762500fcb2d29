#include "pipeline/text_to_video.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "backend/backend.h"
#include "core/log.h"
#include "core/rng.h"
#include "dist/process_group.h"
#include "models/t5_encoder.h"
#include "models/t5_tokenizer.h"
#include "models/wan_dit.h"
#ifdef WAN_HAVE_CUDA
#include "models/wan_dit_cuda.h"
#endif
#include "models/wan_vae.h"
#include "pipeline/checkpoint_files.h"
#include "pipeline/denoise.h"
#include "pipeline/expert_residency.h"
#include "pipeline/random_checkpoint.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

// DiT weights: the official file or index, or one .safetensors file of any name (a single-file
// DiT, whose config is then inferred from its shapes when config.json is missing).
bool has_dit(const fs::path& dir) { return !folder_weights_file(dir.string()).empty(); }

// Rank 0's text encodings [L, text_dim] f32 on every rank: first their lengths, then the rows.
std::vector<Tensor> broadcast_contexts(const dist::Communicator& world, const std::vector<Tensor>& mine,
                                       int64_t text_dim) {
  Tensor lengths = Tensor::zeros({2}, DType::I64);
  if (world.rank() == 0)
    for (int64_t i = 0; i < 2; ++i) lengths.data<int64_t>()[i] = mine[size_t(i)].size(0);
  Tensor dev = to_device(lengths, Device::CUDA);
  world.broadcast(dev, 0);
  lengths = to_device(dev, Device::CPU);
  std::vector<Tensor> out;
  for (int64_t i = 0; i < 2; ++i) {
    const int64_t L = lengths.data<int64_t>()[i];
    Tensor t = world.rank() == 0 ? to_device(mine[size_t(i)].to(DType::F32).contiguous(), Device::CUDA)
                                 : empty_on({L, text_dim}, DType::F32, Device::CUDA);
    world.broadcast(t, 0);
    out.push_back(to_device(t, Device::CPU));
  }
  return out;
}

#ifdef WAN_HAVE_CUDA
// With a Ulysses group, the DiT splits every forward's tokens over its ranks.
std::unique_ptr<WanDiTCuda> split_tokens(std::unique_ptr<WanDiTCuda> dit, const dist::ProcessGroup* group) {
  if (group && group->ulysses) {
    group->config.validate(dit->config().num_heads);  // the message that names --ulysses
    dit->set_sequence_parallel(group->ulysses);
  }
  return dit;
}
#endif

}  // namespace

std::string detect_task(const std::string& folder) {
  std::error_code ec;
  WAN_CHECK(fs::is_directory(folder, ec), folder, ": no such checkpoint folder");
  const fs::path dir(folder);
  if (has_expert(dir)) return "t2v-A14B";
  if (fs::exists(dir / "config.json", ec)) {
    std::ifstream in(dir / "config.json");
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.value("model_type", "") == "ti2v") return "ti2v-5B";
    fail(folder, ": config.json has model_type ", j.is_object() ? j.value("model_type", "?") : "?",
         "; only text-to-video checkpoints (T2V-A14B, TI2V-5B) are supported; pass --task to choose");
  }
  if (has_dit(dir)) {  // a DiT file without config.json: its shapes say which model it is
    const WanDiTConfig c = infer_wan_dit_config(TensorStore::open(folder));
    WAN_CHECK(c.model_type == "ti2v", folder, ": the DiT here is a ", c.model_type, " model (", c.summary(),
              "); a T2V-A14B checkpoint keeps its experts in high_noise_model/ and low_noise_model/");
    return "ti2v-5B";
  }
  fail(folder, ": not a Wan 2.2 checkpoint folder: expected high_noise_model/ and low_noise_model/ (T2V-A14B) or "
       "config.json with diffusion_pytorch_model*.safetensors (TI2V-5B)");
}

void check_checkpoint_folder(const std::string& folder, const TaskConfig& task) {
  const fs::path dir(folder);
  std::error_code ec;
  WAN_CHECK(fs::is_directory(dir, ec), folder, ": no such checkpoint folder");
  std::vector<std::string> missing;
  const std::optional<fs::path> text_encoder = find_text_encoder(dir);
  if (!text_encoder) missing.push_back(text_encoder_expectation());
  if (!find_tokenizer(dir, text_encoder)) missing.push_back(tokenizer_expectation());
  if (!find_vae(dir, task)) missing.push_back(vae_expectation(task));
  if (task.two_experts) {
    for (const char* sub : {"high_noise_model", "low_noise_model"})
      if (!find_expert(dir, sub))
        missing.push_back(str(sub, "/ (diffusion_pytorch_model*.safetensors with config.json, or one .safetensors DiT file; ",
                              "or that file in the folder itself, \"", std::string(sub).substr(0, 9), "\" in its name)"));
  } else if (!has_dit(dir)) {
    missing.push_back("diffusion_pytorch_model*.safetensors with config.json (or one .safetensors DiT file)");
  }
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += "\n  " + m;
  fail(folder, ": incomplete ", task.name, " checkpoint; missing:", list);
}

GenerateParams resolve_params(const TaskConfig& task, GenerateParams p) {
  if (p.width == 0 && p.height == 0) std::tie(p.width, p.height) = task.default_size;
  if (p.frames == 0) p.frames = task.frame_num;
  if (p.steps == 0) p.steps = task.steps;
  if (p.shift == 0) p.shift = task.shift;
  if (p.guide_low == 0 && p.guide_high == 0) {
    p.guide_low = task.guide_low;
    p.guide_high = task.guide_high;
  }
  const int64_t grid = task.vae_stride[1] * task.patch[1];
  WAN_CHECK(p.width > 0 && p.height > 0, "size ", p.width, "*", p.height, " must be positive");
  WAN_CHECK(p.width % grid == 0 && p.height % grid == 0, "size ", p.width, "*", p.height, " is not a multiple of ",
            grid, " (", task.name, " works on ", grid, "-pixel blocks); the official sizes are ",
            task.sizes[0].first, "*", task.sizes[0].second, " and similar");
  bool official = false;
  for (const auto& s : task.sizes) official = official || (s.first == p.width && s.second == p.height);
  if (!official)
    WAN_LOG_WARN("size ", p.width, "*", p.height, " is not one of ", task.name,
                 "'s official sizes; the model was trained on those and may do worse here");
  WAN_CHECK(p.frames >= 1 && (p.frames - 1) % task.vae_stride[0] == 0, "frame count ", p.frames, " must be 4n+1 (",
            task.name, " default ", task.frame_num, ")");
  WAN_CHECK(p.steps >= 1 && p.steps <= 1000, "sample steps ", p.steps, " must be in [1, 1000]");
  WAN_CHECK(p.shift > 0, "sample shift ", p.shift, " must be positive");
  WAN_CHECK(p.guide_low >= 0 && p.guide_high >= 0, "guide scales must not be negative");
  if (p.negative_prompt.empty()) p.negative_prompt = kDefaultNegativePrompt;
  return p;
}

Tensor seeded_noise(const Shape& shape, uint64_t seed) {
  Tensor t = Tensor::empty(shape, DType::F32);
  Rng rng(seed);
  rng.fill_normal(t);
  return t;
}

WanDiTConfig dit_config_of(const std::string& folder, const TaskConfig& task) {
  if (!task.two_experts) return wan_dit_config_of_folder(folder);
  const fs::path dir(folder);
  return wan_dit_config_of_folder(find_expert(dir, "low_noise_model").value_or(dir / "low_noise_model").string());
}

struct TextToVideo::Impl {
  std::string folder;
  const TaskConfig* task;
  std::unique_ptr<T5Tokenizer> tokenizer;
  std::unique_ptr<T5Encoder> t5;
  std::unique_ptr<DiTModel> high, low;  // with offloading: views of `residency`'s two experts
  std::unique_ptr<ExpertResidency> residency;
  std::unique_ptr<WanVAE> vae;
  std::shared_ptr<const dist::ProcessGroup> group;  // null: one process
  Device text_device = Device::CPU;
  bool output_rank() const { return !group || group->is_output_rank(); }
  // The two experts under one ExpertResidency (high-noise first: it denoises first), the pipeline
  // predicting through its views.
  void offload_one_expert() { residency = share_one_gpu(high, low); }
};

TextToVideo::TextToVideo(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TextToVideo::~TextToVideo() = default;
TextToVideo::TextToVideo(TextToVideo&&) noexcept = default;
const TaskConfig& TextToVideo::task() const { return *impl_->task; }
bool TextToVideo::produces_frames() const { return impl_->output_rank(); }
void TextToVideo::set_text_encoder_device(Device device) { impl_->text_device = device; }


TextToVideo TextToVideo::load(const std::string& folder, const std::string& task_name, Device device,
                              std::shared_ptr<const dist::ProcessGroup> group, DType vae_activations,
                              bool offload_experts, Precision precision) {
  WAN_CHECK(precision == Precision::BF16 || device == Device::CUDA,
            "--precision fp8 runs on the GPU (--device cuda); the CPU path is the f32 reference");
  auto impl = std::make_unique<Impl>();
  impl->folder = folder;
  impl->task = &task_config(task_name.empty() ? detect_task(folder) : task_name);
  impl->group = group && group->info.world > 1 ? std::move(group) : nullptr;
  impl->text_device = device;
  WAN_CHECK(!impl->group || device == Device::CUDA, "several GPUs need --device cuda");
  check_checkpoint_folder(folder, *impl->task);
  const fs::path dir(folder);
  if (impl->output_rank()) {
    const fs::path text_encoder = *find_text_encoder(dir), tokenizer = *find_tokenizer(dir, text_encoder);
    impl->tokenizer = std::make_unique<T5Tokenizer>(
        tokenizer == text_encoder
            ? T5Tokenizer::from_serialized_model(*t5_embedded_tokenizer(text_encoder.string()),
                                                 str(text_encoder.string(), ": ", kT5EmbeddedTokenizer))
            : T5Tokenizer::load(tokenizer.string()));
    // On the GPU the encode reads the blocks' matrices in bf16: from the official bf16 file, views of it.
    impl->t5 = std::make_unique<T5Encoder>(
        T5Encoder::load(text_encoder.string(), device == Device::CUDA ? DType::BF16 : DType::F32));
  }
  auto load_dit = [&](const std::string& path) -> std::unique_ptr<DiTModel> {
    if (device == Device::CPU) return std::make_unique<WanDiT>(WanDiT::load(path));
#ifdef WAN_HAVE_CUDA
    return split_tokens(std::make_unique<WanDiTCuda>(WanDiTCuda::load(path, precision)), impl->group.get());
#else
    fail("--device cuda: this build has no CUDA backend");
#endif
  };
  if (impl->task->two_experts) {
    impl->high = load_dit(find_expert(dir, "high_noise_model")->string());
    if (offload_experts && device == Device::CUDA) impl->high->offload();  // before the other one arrives
    impl->low = load_dit(find_expert(dir, "low_noise_model")->string());
    if (offload_experts && device == Device::CUDA) impl->offload_one_expert();
  } else {
    impl->low = load_dit(folder);
  }
  const WanDiTConfig& dit = impl->low->config();
  WAN_CHECK(dit.in_dim == impl->task->z_dim, folder, ": the DiT takes ", dit.in_dim, " latent channels; ",
            impl->task->name, " needs ", impl->task->z_dim);
  if (impl->output_rank()) {
    impl->vae = std::make_unique<WanVAE>(WanVAE::load(find_vae(dir, *impl->task)->string()));
    impl->vae->to(device, device == Device::CUDA ? vae_activations : DType::F32);  // GPU: channels-last
    WAN_CHECK(impl->vae->config().z_dim == impl->task->z_dim, folder, ": the VAE has ", impl->vae->config().z_dim,
              " latent channels; ", impl->task->name, " needs ", impl->task->z_dim);
    WAN_CHECK(dit.text_dim == impl->t5->config().dim, folder, ": the DiT's text_dim ", dit.text_dim,
              " does not match the text encoder's width ", impl->t5->config().dim);
  }
  return TextToVideo(std::move(impl));
}

TextToVideo TextToVideo::random(const std::string& task_name, int64_t t5_layers, const std::string& tokenizer_model,
                                std::shared_ptr<const dist::ProcessGroup> group, uint64_t seed,
                                bool offload_experts, Precision precision, DType vae_activations) {
#ifndef WAN_HAVE_CUDA
  fail("random weights are made on the GPU, and this build has no CUDA backend");
#else
  WAN_CHECK(cuda_available(), "random weights are made on the GPU: ", cuda_device_summary());
  WAN_CHECK(t5_layers >= 1 && t5_layers <= 24, "text encoder layers ", t5_layers, " must be in [1, 24]");
  auto impl = std::make_unique<Impl>();
  impl->task = &task_config(task_name);
  impl->group = group && group->info.world > 1 ? std::move(group) : nullptr;
  impl->text_device = Device::CUDA;
  const TaskConfig& task = *impl->task;
  const WanDiTConfig dit = official_dit_config(task);
  auto make_dit = [&](uint64_t s) {
    return split_tokens(std::make_unique<WanDiTCuda>(WanDiTCuda::random(dit, s, precision)), impl->group.get());
  };
  if (task.two_experts) impl->high = make_dit(seed + 1);
  if (task.two_experts && offload_experts) impl->high->offload();  // before the other one is made
  impl->low = make_dit(seed + 2);
  if (task.two_experts && offload_experts) impl->offload_one_expert();
  if (impl->output_rank()) {
    impl->tokenizer = std::make_unique<T5Tokenizer>(T5Tokenizer::load(tokenizer_model));
    T5Config t5 = T5Config::umt5_xxl();
    t5.num_layers = t5_layers;
    impl->t5 = std::make_unique<T5Encoder>(random_t5_encoder(t5, seed + 3, DType::BF16));  // what the GPU encode reads
    impl->vae = std::make_unique<WanVAE>(
        WanVAE::random(task.z_dim == 48 ? WanVAEConfig::wan22() : WanVAEConfig::wan21(), seed + 4, Device::CUDA));
    impl->vae->to(Device::CUDA, vae_activations);  // as a loaded checkpoint's VAE on the GPU
  }
  return TextToVideo(std::move(impl));
#endif
}

void TextToVideo::generate(const GenerateParams& params, const GenerateCallbacks& cb) {
  Impl& d = *impl_;
  const TaskConfig& task = *d.task;
  auto stage = [&](const char* s) {
    if (cb.on_stage) cb.on_stage(s);
  };
  // Text (text2video.py L267–277): prompt and negative prompt encoded separately.
  stage("text encoder");
  std::vector<Tensor> contexts;
  if (d.output_rank()) {
    const TokenizedBatch tokens = d.tokenizer->encode({params.prompt, params.negative_prompt}, kTextLen);
    contexts = d.t5->encode(tokens.ids, tokens.mask, d.text_device);
  }
  if (d.group) contexts = broadcast_contexts(*d.group->world, contexts, d.low->config().text_dim);

  // Noise [z_dim, (F − 1)/4 + 1, H/8, W/8] (L252–255, L279–288).
  const Shape shape{task.z_dim, (params.frames - 1) / task.vae_stride[0] + 1, params.height / task.vae_stride[1],
                    params.width / task.vae_stride[2]};
  DenoiseInputs in;
  in.noise = seeded_noise(shape, params.seed);
  in.context = contexts[0];
  in.context_null = contexts[1];
  in.high_noise = d.high.get();
  in.low_noise = d.low.get();
  in.boundary = task.boundary;
  in.guide_low = params.guide_low;
  in.guide_high = params.guide_high;
  in.solver = params.solver;
  in.steps = params.steps;
  in.shift = params.shift;
  if (d.group && d.group->cfg) {
    in.cfg_group = d.group->cfg.get();
    in.cfg_branch = d.group->cfg_branch();
  }
  stage("denoising");
  const Tensor latent = denoise(in, cb.on_step);
  if (!d.output_rank()) return;

  stage("decoding");
  d.vae->decode(latent, [&](const Tensor& frames) {
    if (cb.on_frames) cb.on_frames(frames);
    if (cb.should_stop && cb.should_stop()) throw Cancelled();
  });
}

}  // namespace wan
