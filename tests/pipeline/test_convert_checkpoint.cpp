// wan convert on the tiny models: the converted folder has the layout and dtype asked for, loads,
// and gives the same outputs (the golden weights are bf16 values, so bf16 loses nothing here):
// a lone DiT folder against its golden case, and the whole demo pipeline video against the
// original folder's. Errors leave nothing behind.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/stats.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "models/wan_dit.h"
#include "models/wan_dit_case.h"
#include "models/wan_dit_weights.h"
#include "models/weight_binding.h"
#include "ops/quantize.h"
#include "pipeline/convert_checkpoint.h"
#include "pipeline/demo_checkpoint.h"
#include "pipeline/text_to_video.h"
#include "pipeline/generate_frames.h"
#include "test_util.h"

namespace fs = std::filesystem;

namespace wan {
namespace {

TEST(ConvertCheckpoint, DiTFolderInShardsMatchesTheGoldenCase) {
  test::TempDir dir;
  const std::string src = test::golden_dir() + "/dit_tiny", dst = dir.file("dit_bf16");
  const ConvertReport r = convert_checkpoint(src, dst, DType::BF16, 20000);  // tiny shards: an index
  const ConvertReport r32 = convert_checkpoint(src, dir.file("dit_f32"), DType::F32);
  EXPECT_EQ(r32.shards, 1);  // one file, no index
  EXPECT_TRUE(fs::exists(dir.file("dit_f32") + "/diffusion_pytorch_model.safetensors"));
  EXPECT_EQ(r32.bytes_written, 2 * r.bytes_written);
  EXPECT_EQ(r.dit_folders, 1);
  EXPECT_GT(r.shards, 1);
  int64_t elements = 0, source_bytes = 0;
  for (const std::string& n : TensorStore::open(src).names()) {
    elements += TensorStore::open(src).get(n).numel();
    source_bytes += int64_t(TensorStore::open(src).get(n).nbytes());
  }
  EXPECT_EQ(r.bytes_written, 2 * elements);  // bf16
  EXPECT_EQ(r.bytes_read, source_bytes);
  EXPECT_TRUE(fs::exists(fs::path(dst) / "diffusion_pytorch_model.safetensors.index.json"));
  const TensorStore store = TensorStore::open(dst);
  for (const std::string& n : store.names()) EXPECT_EQ(store.get(n).dtype(), DType::BF16) << n;
  EXPECT_EQ(store.size(), TensorStore::open(src).size());
  // The golden case on the converted weights.
  const std::string io = test::golden_dir() + "/dit_tiny.single.io.safetensors";
  const WanDiT original = WanDiT::load(src), converted = WanDiT::load(dst);
  const WanDiTCase c = read_wan_dit_case(io);
  const auto a = original.forward(c.x, c.t, c.context, c.seq_len), b = converted.forward(c.x, c.t, c.context, c.seq_len);
  EXPECT_EQ(rel_l2(b[0], a[0]), 0.0);  // the golden weights are bf16 values
  ASSERT_FALSE(c.out.empty());
  EXPECT_LE(rel_l2(b[0], c.out[0]), 1e-4);
}

// A scaled FP8 single-file DiT (E4M3 block matrices with an f32 scale each, ComfyUI's prefix, no
// config.json) converts to the official layout: its weights dequantised as the loader reads them,
// no scale tensors or marker copied, and the inferred config.json written.
TEST(ConvertCheckpoint, AScaledFp8SingleFileBecomesTheOfficialLayout) {
  test::TempDir dir;
  const std::string golden = test::golden_dir() + "/dit_tiny";
  const TensorStore source = TensorStore::open(golden);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& n : source.names()) {
    const Tensor& t = source.get(n);
    if (n.rfind("blocks.", 0) == 0 && n.size() > 7 && n.substr(n.size() - 7) == ".weight" && t.dim() == 2) {
      tensors.emplace_back(n, t.to(DType::F32).contiguous().to(DType::F8_E4M3));  // scale 0.5: values · 0.5
      tensors.emplace_back(n.substr(0, n.size() - 7) + ".scale_weight", Tensor::from_vector<float>({0.5f}, {1}));
    } else {
      tensors.emplace_back(n, t);
    }
  }
  tensors.emplace_back("scaled_fp8", Tensor::from_vector<float>({0.0f}, {1}));
  for (auto& [n, t] : tensors) n = "model.diffusion_model." + n;
  fs::create_directories(dir.file("single"));
  save_safetensors(dir.file("single/wan_tiny_fp8_scaled.safetensors"), tensors);

  const ConvertReport r = convert_checkpoint(dir.file("single"), dir.file("official"), DType::BF16);
  EXPECT_EQ(r.dit_folders, 1);
  EXPECT_TRUE(fs::exists(dir.file("official/config.json")));
  const TensorStore out = TensorStore::open(dir.file("official"));
  EXPECT_EQ(out.names(), source.names());  // the official tensors, nothing else
  const WanDiT from_file = WanDiT::load(dir.file("single")), converted = WanDiT::load(dir.file("official"));
  EXPECT_EQ(converted.config().to_json(), WanDiTConfig::from_file(golden + "/config.json").to_json());
  const Tensor& q = converted.weights().blocks[1].self_attn.q_weight;
  EXPECT_EQ(rel_l2(q, from_file.weights().blocks[1].self_attn.q_weight), 0.0);  // the loader's dequantised values
  const double vs_golden = rel_l2(q, WanDiT::load(golden).weights().blocks[1].self_attn.q_weight);
  EXPECT_GT(vs_golden, 0.3);  // half the golden values (scale 0.5 on unscaled E4M3 copies) ...
  EXPECT_LT(vs_golden, 0.7);  // ... within E4M3's rounding
}

// --dtype fp8: the block weights as an FP8 run computes with them (E4M3 per output row, quantised
// from the bf16 values by ops::quantize_fp8, with a [rows, 1] scale_weight beside each), the rest
// bf16; an FP8 source's own values pass through as they are; the result loads (dequantised) on the
// CPU.
TEST(ConvertCheckpoint, Fp8WritesTheBlockWeightsAsAnFp8RunQuantisesThem) {
  test::TempDir dir;
  const std::string golden = test::golden_dir() + "/dit_tiny";
  const ConvertReport r = convert_checkpoint(golden, dir.file("fp8"), DType::F8_E4M3);
  EXPECT_EQ(r.dit_folders, 1);
  const TensorStore source = TensorStore::open(golden), out = TensorStore::open(dir.file("fp8"));
  int64_t block_weights = 0;
  for (const std::string& n : source.names()) {
    ASSERT_TRUE(out.contains(n)) << n;
    if (!is_fp8_block_weight(n)) {
      EXPECT_EQ(out.get(n).dtype(), DType::BF16) << n;
      continue;
    }
    ++block_weights;
    const ops::Fp8Matrix expected =
        ops::quantize_fp8(source.get(n).to(DType::BF16).to(DType::F32), ops::Fp8Scaling::PerRow);
    const std::optional<StoredFp8Weight> stored = read_stored_fp8(out, n);
    ASSERT_TRUE(stored.has_value()) << n;
    const std::string scale = n.substr(0, n.size() - 6) + "scale_weight";
    EXPECT_EQ(out.get(scale).shape(), (Shape{source.get(n).size(0), 1})) << scale;
    ASSERT_EQ(stored->values.nbytes(), expected.values.nbytes());
    EXPECT_EQ(std::memcmp(stored->values.data_ptr(), expected.values.data_ptr(), size_t(expected.values.nbytes())), 0) << n;
    EXPECT_EQ(rel_l2(stored->row_scales, expected.scales), 0.0) << n;
  }
  EXPECT_EQ(block_weights, 10 * WanDiTConfig::from_file(golden + "/config.json").num_layers);
  EXPECT_EQ(out.size(), source.size() + size_t(block_weights));  // the tensors and one scale each
  // The copy loads on the CPU (values · scales) close to the original: E4M3's rounding.
  const double err = rel_l2(WanDiT::load(dir.file("fp8")).weights().blocks[0].ffn_0_weight,
                            WanDiT::load(golden).weights().blocks[0].ffn_0_weight);
  EXPECT_GT(err, 1e-3);
  EXPECT_LT(err, 5e-2);
  // Converting the FP8 copy to fp8 again keeps its values as they are.
  convert_checkpoint(dir.file("fp8"), dir.file("again"), DType::F8_E4M3);
  const TensorStore again = TensorStore::open(dir.file("again"));
  for (const std::string& n : out.names()) {
    ASSERT_TRUE(again.contains(n)) << n;
    ASSERT_EQ(again.get(n).nbytes(), out.get(n).nbytes()) << n;
    EXPECT_EQ(std::memcmp(again.get(n).contiguous().data_ptr(), out.get(n).contiguous().data_ptr(),
                          size_t(out.get(n).nbytes())), 0) << n;
  }
}

TEST(ConvertCheckpoint, TheDemoPipelineMakesTheSameVideo) {
  test::TempDir dir;
  const std::string src = dir.file("demo"), dst = dir.file("demo_bf16");
  ensure_demo_checkpoint(src, std::string(WAN_SOURCE_DIR) + "/tests/data");
  const ConvertReport r = convert_checkpoint(src, dst);
  EXPECT_EQ(r.dit_folders, 2);
  EXPECT_GE(r.other_files, 3);  // T5, its tokenizer, the VAE (and their configs)
  const GenerateParams p = test::tiny_request(9, "a lantern in the fog");
  const auto a = test::generate_frames(src, p), b = test::generate_frames(dst, p);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(rel_l2(b[i], a[i]), 0.0) << i;
}

TEST(ConvertCheckpoint, ErrorsLeaveNothingBehind) {
  test::TempDir dir;
  const std::string dst = dir.file("out");
  EXPECT_THROW(convert_checkpoint(dir.file("missing"), dst), Error);
  EXPECT_FALSE(fs::exists(dst));
  fs::create_directories(dst);
  try {
    convert_checkpoint(test::golden_dir() + "/dit_tiny", dst);
    FAIL() << "overwrote an existing folder";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already exists"), std::string::npos) << e.what();
  }
  // A DiT folder missing a tensor: refused before anything is written.
  const std::string broken = dir.file("broken");
  fs::create_directories(broken);
  fs::copy_file(test::golden_dir() + "/dit_tiny/config.json", broken + "/config.json");
  const TensorStore store = TensorStore::open(test::golden_dir() + "/dit_tiny");
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const std::string& n : store.names())
    if (n != "head.head.weight") tensors.push_back({n, store.get(n)});
  save_safetensors(broken + "/diffusion_pytorch_model.safetensors", tensors);
  EXPECT_THROW(convert_checkpoint(broken, dir.file("broken_bf16")), Error);
  EXPECT_FALSE(fs::exists(dir.file("broken_bf16")));
  for (const auto& e : fs::directory_iterator(dir.path()))
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace wan
