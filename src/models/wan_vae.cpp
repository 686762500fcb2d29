#include "models/wan_vae.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/backend.h"
#include "backend/host_copy_queue.h"
#include "core/log.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "io/json_config.h"
#include "ops/conv.h"
#include "ops/vae_ops.h"

namespace wan {

using namespace vae;

namespace {

// Wan2_1_VAE.__init__ (vae2_1.py L629–639) and Wan2_2_VAE.__init__ (vae2_2.py L904–1012).
const std::vector<float> kMean21 = {-0.7571f, -0.7089f, -0.9113f, 0.1075f, -0.1745f, 0.9653f, -0.1517f, 1.5508f,
                                    0.4134f, -0.0715f, 0.5517f, -0.3632f, -0.1922f, -0.9497f, 0.2503f, -0.2921f};
const std::vector<float> kStd21 = {2.8184f, 1.4541f, 2.3275f, 2.6558f, 1.2196f, 1.7708f, 2.6052f, 2.0743f,
                                   3.2687f, 2.1526f, 2.8652f, 1.5579f, 1.6382f, 1.1253f, 2.8251f, 1.9160f};
const std::vector<float> kMean22 = {
    -0.2289f, -0.0052f, -0.1323f, -0.2339f, -0.2799f, 0.0174f, 0.1838f, 0.1557f, -0.1382f, 0.0542f, 0.2813f, 0.0891f,
    0.1570f, -0.0098f, 0.0375f, -0.1825f, -0.2246f, -0.1207f, -0.0698f, 0.5109f, 0.2665f, -0.2108f, -0.2158f, 0.2502f,
    -0.2055f, -0.0322f, 0.1109f, 0.1567f, -0.0729f, 0.0899f, -0.2799f, -0.1230f, -0.0313f, -0.1649f, 0.0117f, 0.0723f,
    -0.2839f, -0.2083f, -0.0520f, 0.3748f, 0.0152f, 0.1957f, 0.1433f, -0.2944f, 0.3573f, -0.0548f, -0.1681f, -0.0667f};
const std::vector<float> kStd22 = {
    0.4765f, 1.0364f, 0.4514f, 1.1677f, 0.5313f, 0.4990f, 0.4818f, 0.5013f, 0.8158f, 1.0344f, 0.5894f, 1.0901f,
    0.6885f, 0.6165f, 0.8454f, 0.4978f, 0.5759f, 0.3523f, 0.7135f, 0.6804f, 0.5833f, 1.4146f, 0.8986f, 0.5659f,
    0.7069f, 0.5338f, 0.4889f, 0.4917f, 0.4069f, 0.4999f, 0.6866f, 0.4093f, 0.5709f, 0.6065f, 0.6415f, 0.4944f,
    0.5726f, 1.2042f, 0.5458f, 1.6887f, 0.3971f, 1.0600f, 0.3943f, 0.5537f, 0.5444f, 0.4089f, 0.7468f, 0.7744f};

std::unique_ptr<CausalConv3d> conv(int64_t in, int64_t out, int64_t k) {
  const int64_t p = k / 2;
  return std::make_unique<CausalConv3d>(in, out, std::array<int64_t, 3>{k, k, k}, std::array<int64_t, 3>{p, p, p});
}

std::unique_ptr<Sequential> middle(int64_t d) {
  auto s = std::make_unique<Sequential>();
  s->add(std::make_unique<ResidualBlock>(d, d)).add(std::make_unique<AttentionBlock>(d)).add(std::make_unique<ResidualBlock>(d, d));
  return s;
}

std::unique_ptr<Sequential> head(int64_t d, int64_t out) {
  auto s = std::make_unique<Sequential>();
  s->add(std::make_unique<RmsNorm>(d, false)).add(std::make_unique<SiLU>()).add(conv(d, out, 3));
  return s;
}

// b c f (h q) (w r) -> b (c r q) f h w (vae2_2.py patchify), for [C, F, H, W].
Tensor patchify(const Tensor& x) {
  const int64_t C = x.size(0), F = x.size(1), H = x.size(2) / 2, W = x.size(3) / 2;
  return contiguous_on_device(contiguous_on_device(x).view({C, F, H, 2, W, 2}).permute({0, 5, 3, 1, 2, 4}))
      .view({C * 4, F, H, W});
}

// b (c r q) f h w -> b c f (h q) (w r) (vae2_2.py unpatchify).
Tensor unpatchify(const Tensor& x) {
  const int64_t C = x.size(0) / 4, F = x.size(1), H = x.size(2), W = x.size(3);
  return contiguous_on_device(contiguous_on_device(x).view({C, 2, 2, F, H, W}).permute({0, 3, 4, 2, 5, 1}))
      .view({C, F, H * 2, W * 2});
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Config

WanVAEConfig WanVAEConfig::wan21() {
  WanVAEConfig c;
  c.latent_mean = kMean21;
  c.latent_std = kStd21;
  return c;
}

WanVAEConfig WanVAEConfig::wan22() {
  WanVAEConfig c;
  c.version = 22;
  c.dim = 160;
  c.dec_dim = 256;
  c.z_dim = 48;
  c.latent_mean = kMean22;
  c.latent_std = kStd22;
  return c;
}

WanVAEConfig WanVAEConfig::from_json(const std::string& text, const std::string& origin, int version) {
  const nlohmann::json j = parse_json_object(text, origin);
  WanVAEConfig c = version == 22 ? wan22() : wan21();
  auto read = [&](const char* key, auto& out) { read_json_key(j, key, out, origin); };
  read("dim", c.dim);
  c.dec_dim = version == 22 ? c.dec_dim : c.dim;
  read("dec_dim", c.dec_dim);
  read("z_dim", c.z_dim);
  read("dim_mult", c.dim_mult);
  read("num_res_blocks", c.num_res_blocks);
  read("attn_scales", c.attn_scales);
  read("temperal_downsample", c.temperal_downsample);
  c.validate(origin);
  return c;
}

void WanVAEConfig::validate(const std::string& origin) const {
  WAN_CHECK(version == 21 || version == 22, origin, ": VAE version must be 21 or 22");
  WAN_CHECK(dim > 0 && dec_dim > 0 && z_dim > 0 && num_res_blocks > 0, origin, ": sizes must be positive");
  WAN_CHECK(dim_mult.size() >= 2, origin, ": dim_mult needs at least two entries");
  WAN_CHECK(temperal_downsample.size() + 1 == dim_mult.size(), origin, ": temperal_downsample needs ",
            dim_mult.size() - 1, " entries");
  WAN_CHECK(int64_t(latent_mean.size()) == z_dim && int64_t(latent_std.size()) == z_dim, origin, ": the latent ",
            "constants have ", latent_mean.size(), " channels, the config ", z_dim);
  if (version == 21)
    for (size_t i = 1; i < dim_mult.size(); ++i)
      WAN_CHECK(dec_dim * dim_mult[i - 1] % 2 == 0, origin, ": Wan 2.1 upsampling halves odd channel counts");
}

int64_t WanVAEConfig::spatial_stride() const {
  return (int64_t(1) << (dim_mult.size() - 1)) * (version == 22 ? 2 : 1);
}

int64_t WanVAEConfig::temporal_stride() const {
  int64_t s = 1;
  for (bool t : temperal_downsample) s *= t ? 2 : 1;
  return s;
}

std::string WanVAEConfig::summary() const {
  return str("Wan ", version == 22 ? "2.2" : "2.1", " VAE, z_dim ", z_dim, ", dim ", dim, "/", dec_dim, ", stride ",
             temporal_stride(), "x", spatial_stride(), "x", spatial_stride());
}

// ---------------------------------------------------------------------------------------------
// Network

struct WanVAE::Net {
  std::unique_ptr<CausalConv3d> enc_conv1, conv1, conv2, dec_conv1;
  std::unique_ptr<Sequential> enc_down, enc_middle, enc_head, dec_middle, dec_up, dec_head;
};

WanVAE::WanVAE(WanVAEConfig config) : config_(std::move(config)), net_(std::make_unique<Net>()) {
  const WanVAEConfig& c = config_;
  c.validate();
  const size_t n = c.dim_mult.size();
  Net& N = *net_;
  // Encoder3d: dims = dim · [1] + dim_mult.
  std::vector<int64_t> enc{c.dim};
  for (int64_t m : c.dim_mult) enc.push_back(c.dim * m);
  N.enc_conv1 = conv(c.image_channels(), enc[0], 3);
  N.enc_down = std::make_unique<Sequential>();
  double scale = 1.0;
  for (size_t i = 0; i + 1 < enc.size(); ++i) {
    const bool last = i == n - 1;
    const bool t_down = !last && c.temperal_downsample[i];
    const ResampleMode mode = t_down ? ResampleMode::Downsample3d : ResampleMode::Downsample2d;
    if (c.version == 21) {
      int64_t in = enc[i];
      for (int64_t r = 0; r < c.num_res_blocks; ++r) {
        N.enc_down->add(std::make_unique<ResidualBlock>(in, enc[i + 1]));
        if (std::count(c.attn_scales.begin(), c.attn_scales.end(), scale)) N.enc_down->add(std::make_unique<AttentionBlock>(enc[i + 1]));
        in = enc[i + 1];
      }
      if (!last) {
        N.enc_down->add(std::make_unique<Resample>(enc[i + 1], mode, enc[i + 1]));
        scale /= 2.0;
      }
    } else {  // Down_ResidualBlock
      auto main = std::make_unique<Sequential>();
      int64_t in = enc[i];
      for (int64_t r = 0; r < c.num_res_blocks; ++r, in = enc[i + 1]) main->add(std::make_unique<ResidualBlock>(in, enc[i + 1]));
      if (!last) main->add(std::make_unique<Resample>(enc[i + 1], mode, enc[i + 1]));
      N.enc_down->add(std::make_unique<ShortcutBlock>(
          "downsamples", std::move(main), std::make_unique<AvgDown3D>(enc[i], enc[i + 1], t_down ? 2 : 1, last ? 1 : 2)));
    }
  }
  N.enc_middle = middle(enc.back());
  N.enc_head = head(enc.back(), 2 * c.z_dim);
  N.conv1 = conv(2 * c.z_dim, 2 * c.z_dim, 1);
  N.conv2 = conv(c.z_dim, c.z_dim, 1);

  // Decoder3d: dims = dec_dim · [dim_mult[-1]] + reversed(dim_mult); temperal_upsample = reversed.
  std::vector<int64_t> dec{c.dec_dim * c.dim_mult.back()};
  for (size_t i = n; i-- > 0;) dec.push_back(c.dec_dim * c.dim_mult[i]);
  std::vector<bool> t_up(c.temperal_downsample.rbegin(), c.temperal_downsample.rend());
  N.dec_conv1 = conv(c.z_dim, dec[0], 3);
  N.dec_middle = middle(dec[0]);
  N.dec_up = std::make_unique<Sequential>();
  scale = 1.0 / double(int64_t(1) << (n - 2));
  for (size_t i = 0; i + 1 < dec.size(); ++i) {
    const bool last = i == n - 1;
    const ResampleMode mode = !last && t_up[i] ? ResampleMode::Upsample3d : ResampleMode::Upsample2d;
    if (c.version == 21) {
      int64_t in = i >= 1 ? dec[i] / 2 : dec[i];  // the previous Resample halved the channels
      for (int64_t r = 0; r < c.num_res_blocks + 1; ++r) {
        N.dec_up->add(std::make_unique<ResidualBlock>(in, dec[i + 1]));
        if (std::count(c.attn_scales.begin(), c.attn_scales.end(), scale)) N.dec_up->add(std::make_unique<AttentionBlock>(dec[i + 1]));
        in = dec[i + 1];
      }
      if (!last) {
        N.dec_up->add(std::make_unique<Resample>(dec[i + 1], mode, dec[i + 1] / 2));
        scale *= 2.0;
      }
    } else {  // Up_ResidualBlock
      auto main = std::make_unique<Sequential>();
      int64_t in = dec[i];
      for (int64_t r = 0; r < c.num_res_blocks + 1; ++r, in = dec[i + 1]) main->add(std::make_unique<ResidualBlock>(in, dec[i + 1]));
      std::unique_ptr<Shortcut> shortcut;
      if (!last) {
        main->add(std::make_unique<Resample>(dec[i + 1], mode, dec[i + 1]));
        shortcut = std::make_unique<DupUp3D>(dec[i], dec[i + 1], mode == ResampleMode::Upsample3d ? 2 : 1, 2);
      }
      N.dec_up->add(std::make_unique<ShortcutBlock>("upsamples", std::move(main), std::move(shortcut)));
    }
  }
  N.dec_head = head(dec.back(), c.image_channels());
}

WanVAE::~WanVAE() = default;
WanVAE::WanVAE(WanVAE&&) noexcept = default;

std::vector<WeightSlot> WanVAE::slots() {
  std::vector<WeightSlot> s;
  Net& N = *net_;
  N.enc_conv1->slots("encoder.conv1.", s);
  N.enc_down->slots("encoder.downsamples.", s);
  N.enc_middle->slots("encoder.middle.", s);
  N.enc_head->slots("encoder.head.", s);
  N.conv1->slots("conv1.", s);
  N.conv2->slots("conv2.", s);
  N.dec_conv1->slots("decoder.conv1.", s);
  N.dec_middle->slots("decoder.middle.", s);
  N.dec_up->slots("decoder.upsamples.", s);
  N.dec_head->slots("decoder.head.", s);
  return s;
}

void WanVAE::reset() {
  Net& N = *net_;
  for (Layer* l : std::initializer_list<Layer*>{N.enc_conv1.get(), N.enc_down.get(), N.enc_middle.get(), N.enc_head.get(),
                                                N.dec_conv1.get(), N.dec_middle.get(), N.dec_up.get(), N.dec_head.get()})
    l->reset();
}

int WanVAE::detect_version(const std::string& path) {
  const TensorStore store = TensorStore::open(path);
  return store.contains("encoder.downsamples.0.downsamples.0.residual.0.gamma") ? 22 : 21;
}

WanVAE WanVAE::load(const std::string& path) {
  const int version = detect_version(path);
  const std::filesystem::path p(path);
  const std::filesystem::path json = p.parent_path() / (p.stem().string() + ".json");
  if (!std::filesystem::exists(json)) return load(path, version == 22 ? WanVAEConfig::wan22() : WanVAEConfig::wan21());
  std::ifstream in(json);
  std::stringstream ss;
  ss << in.rdbuf();
  return load(path, WanVAEConfig::from_json(ss.str(), json.string(), version));
}

WanVAE WanVAE::load(const std::string& path, const WanVAEConfig& config) {
  WanVAE vae(config);
  bind_weights(TensorStore::open(path), vae.slots(), config.summary(), DType::F32);
  return vae;
}

void WanVAE::decode(const Tensor& z_in, const FrameSink& sink) {
  const WanVAEConfig& c = config_;
  WAN_CHECK(z_in.dim() == 4, "VAE decode: latent must be [C, T, H, W], got ", z_in.describe());
  WAN_CHECK(z_in.size(0) == c.z_dim, "VAE decode: the latent has ", z_in.size(0), " channels but this VAE (",
            c.summary(), ") takes ", c.z_dim, "; a Wan 2.1 latent (16) goes with Wan2.1_VAE.pth, a Wan 2.2 one (48) with Wan2.2_VAE.pth");
  WAN_CHECK(z_in.size(1) >= 1 && z_in.size(2) >= 1 && z_in.size(3) >= 1, "VAE decode: empty latent ", z_in.describe());
  // z / (1/std) + mean, per channel, dividing by the float32 reciprocal as the official code does.
  Tensor z = z_in.to(DType::F32).clone();
  const int64_t S = z.numel() / c.z_dim;
  for (int64_t ch = 0; ch < c.z_dim; ++ch) {
    const float inv_std = 1.0f / c.latent_std[size_t(ch)];
    float* p = z.data<float>() + ch * S;
    for (int64_t i = 0; i < S; ++i) p[i] = p[i] / inv_std + c.latent_mean[size_t(ch)];
  }
  reset();
  Tensor zd = to_device(z, device_);
  if (device_ == Device::CUDA) {  // the GPU layers take channels-last activations in their dtype
    Tensor cl = empty_channels_last_on(zd.shape(), DType::F32, Device::CUDA);
    copy_into(cl, zd);
    zd = convert_on_device(cl, activations_);
  }
  const Tensor x = net_->conv2->forward(zd, true);  // [z_dim, T, h, w]
  // Each chunk's frames cross to the host while the next chunk computes; the sink gets chunk i once
  // chunk i + 1 is queued, so its work (the video encoder's) also runs beside the GPU's.
  HostCopyQueue frames_out;
  for (int64_t i = 0; i < x.size(1); ++i) {
    const bool first = i == 0;
    const Tensor chunk = x.narrow(1, i, 1);  // one block of memory in channels-last
    Tensor h = net_->dec_conv1->forward(device_ == Device::CPU ? chunk.contiguous() : chunk, first);
    h = net_->dec_middle->forward(h, first);
    h = net_->dec_up->forward(h, first);
    h = net_->dec_head->forward(h, first);
    h = ops::clamp(convert_on_device(contiguous_on_device(h), DType::F32), -1.0f, 1.0f);  // [3 or 12, t, H, W]
    if (c.version == 22) h = unpatchify(h);
    frames_out.push(h);
    if (frames_out.size() > 1) sink(frames_out.pop());
  }
  while (!frames_out.empty()) sink(frames_out.pop());
  reset();
}

Tensor WanVAE::decode(const Tensor& z) {
  std::vector<Tensor> chunks;
  int64_t frames = 0;
  decode(z, [&](const Tensor& f) {
    chunks.push_back(f);
    frames += f.size(1);
  });
  Tensor out = Tensor::empty({3, frames, chunks[0].size(2), chunks[0].size(3)}, DType::F32);
  int64_t t = 0;
  for (const Tensor& f : chunks) {
    out.narrow(1, t, f.size(1)).copy_from(f);
    t += f.size(1);
  }
  return out;
}

WanVAE WanVAE::random(const WanVAEConfig& config, uint64_t seed, Device device) {
  WanVAE vae(config);
  uint64_t stream = seed * 1000003;
  for (WeightSlot& slot : vae.slots()) {
    const bool gain = slot.name.size() >= 5 && slot.name.substr(slot.name.size() - 5) == "gamma";
    Tensor t = empty_on(slot.shape, DType::F32, device);
    if (device == Device::CPU) {
      Rng(stream++).fill_normal(t, gain ? 1.0 : 0.0, gain ? 0.0 : 0.02);
    } else {
      fill_normal_on_device(t, stream++, gain ? 1.0 : 0.0, gain ? 0.0 : 0.02);
    }
    *slot.tensor = t;
  }
  vae.device_ = device;
  vae.prepare_layers();
  return vae;
}

int64_t WanVAE::parameter_count(const WanVAEConfig& config) {
  WanVAE vae(config);
  int64_t n = 0;
  for (const WeightSlot& slot : vae.slots()) n += shape_numel(slot.shape);
  return n;
}

void WanVAE::to(Device device, DType activations) {
  WAN_CHECK(activations == DType::F32 || activations == DType::BF16, "the VAE's activations are bf16 or f32, not ",
            dtype_name(activations));
  if (device == device_ && activations == activations_) return;
  for (WeightSlot& slot : slots()) {  // back to plain f32 tensors on the target device
    const Tensor& w = *slot.tensor;
    *slot.tensor = device == Device::CPU ? to_device(w, Device::CPU).to(DType::F32)
                                         : convert_on_device(contiguous_on_device(to_device(w, device)), DType::F32);
  }
  device_ = device;
  activations_ = activations;
  prepare_layers();
  reset();
}

void WanVAE::prepare_layers() {
  Net& N = *net_;
  for (Layer* l : std::initializer_list<Layer*>{N.enc_conv1.get(), N.enc_down.get(), N.enc_middle.get(), N.enc_head.get(),
                                                N.conv1.get(), N.conv2.get(), N.dec_conv1.get(), N.dec_middle.get(),
                                                N.dec_up.get(), N.dec_head.get()})
    l->prepare(activations_);
}

Tensor WanVAE::encode(const Tensor& video_in) {
  const WanVAEConfig& c = config_;
  WAN_CHECK(video_in.dim() == 4 && video_in.size(0) == 3, "VAE encode: video must be [3, F, H, W], got ",
            video_in.describe());
  const int64_t F = video_in.size(1), s = c.spatial_stride();
  WAN_CHECK(F >= 1 && (F - 1) % c.temporal_stride() == 0, "VAE encode: ", F, " frames; the VAE takes 1 + ",
            c.temporal_stride(), "k frames (1, 5, 9, ..., 81)");
  WAN_CHECK(video_in.size(2) % s == 0 && video_in.size(3) % s == 0, "VAE encode: frame size ", video_in.size(3), "x",
            video_in.size(2), " is not a multiple of ", s);
  Tensor x = to_device(video_in, Device::CPU).to(DType::F32).contiguous();
  if (c.version == 22) x = patchify(x);  // on the host: a rearrangement of the input
  // A chunk of frames on the model's device, in the layout and dtype its layers take.
  auto on_device = [&](const Tensor& frames) {
    if (device_ == Device::CPU) return frames.contiguous();
    Tensor cl = empty_channels_last_on(frames.shape(), DType::F32, Device::CUDA);
    copy_into(cl, to_device(frames.contiguous(), Device::CUDA));
    return convert_on_device(cl, activations_);
  };
  reset();
  std::vector<Tensor> outs;  // [2·z_dim, t, h, w] per chunk, on the device
  for (int64_t start = 0; start < F;) {
    const int64_t len = start == 0 ? 1 : c.temporal_stride();
    Tensor h = net_->enc_conv1->forward(on_device(x.narrow(1, start, len)), start == 0);
    h = net_->enc_down->forward(h, start == 0);
    h = net_->enc_middle->forward(h, start == 0);
    outs.push_back(net_->enc_head->forward(h, start == 0));
    start += len;
  }
  reset();
  int64_t T = 0;
  for (const Tensor& o : outs) T += o.size(1);
  const Shape joined{2 * c.z_dim, T, outs[0].size(2), outs[0].size(3)};
  Tensor out = device_ == Device::CPU ? Tensor::empty(joined, DType::F32)
                                      : empty_channels_last_on(joined, outs[0].dtype(), Device::CUDA);
  for (int64_t t = 0; const Tensor& o : outs) {
    Tensor frames = out.narrow(1, t, o.size(1));
    copy_into(frames, o);
    t += o.size(1);
  }
  const Tensor mu_dev = net_->conv1->forward(out, true).narrow(0, 0, c.z_dim);  // [z_dim, T, h, w]
  Tensor mu = to_device(convert_on_device(contiguous_on_device(mu_dev), DType::F32), Device::CPU).contiguous();
  const int64_t S = mu.numel() / c.z_dim;
  for (int64_t ch = 0; ch < c.z_dim; ++ch) {
    const float inv_std = 1.0f / c.latent_std[size_t(ch)];
    float* p = mu.data<float>() + ch * S;
    for (int64_t i = 0; i < S; ++i) p[i] = (p[i] - c.latent_mean[size_t(ch)]) * inv_std;
  }
  return mu;
}

}  // namespace wan
