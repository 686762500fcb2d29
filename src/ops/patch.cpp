#include "ops/patch.h"

#include "ops/check.h"
#include "ops/cpu/kernels.h"

namespace wan::ops {

Tensor patch_embed(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  check_cpu_f32(x, "patch_embed", "x");
  check_dim(x, 4, "patch_embed", "x");
  check_cpu_f32(weight, "patch_embed", "weight");
  check_dim(weight, 5, "patch_embed", "weight");
  check_cpu_f32(bias, "patch_embed", "bias");
  WAN_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "patch_embed: bias ", bias.describe(),
            " does not match weight ", weight.describe());
  WAN_CHECK(x.size(0) == weight.size(1), "patch_embed: latent has ", x.size(0), " channels but the model takes ",
            weight.size(1), " (x ", x.describe(), ")");
  const char* axis[3] = {"frame count", "height", "width"};
  for (int a = 0; a < 3; ++a)
    WAN_CHECK(x.size(1 + a) > 0 && x.size(1 + a) % weight.size(2 + a) == 0, "patch_embed: latent ", axis[a], " ",
              x.size(1 + a), " is not a positive multiple of the patch size ", weight.size(2 + a));
  const int64_t tokens = (x.size(1) / weight.size(2)) * (x.size(2) / weight.size(3)) * (x.size(3) / weight.size(4));
  Tensor out = Tensor::empty({tokens, weight.size(0)}, DType::F32);
  cpu::patch_embed(x.contiguous(), weight.contiguous(), bias.contiguous(), out);
  return out;
}

Tensor unpatchify(const Tensor& tokens, const Grid3& grid, const Patch3& patch, int64_t out_channels) {
  check_cpu_f32(tokens, "unpatchify", "tokens");
  check_dim(tokens, 2, "unpatchify", "tokens");
  WAN_CHECK(out_channels > 0, "unpatchify: out_channels must be positive");
  WAN_CHECK(tokens.size(1) == patch[0] * patch[1] * patch[2] * out_channels, "unpatchify: tokens ",
            tokens.describe(), " do not hold ", patch[0], "x", patch[1], "x", patch[2], "x", out_channels,
            " features");
  WAN_CHECK(grid[0] * grid[1] * grid[2] <= tokens.size(0), "unpatchify: grid ", grid[0], "x", grid[1], "x",
            grid[2], " needs more tokens than ", tokens.describe());
  Tensor out = Tensor::empty({out_channels, grid[0] * patch[0], grid[1] * patch[1], grid[2] * patch[2]}, DType::F32);
  cpu::unpatchify(tokens.contiguous(), grid, patch, out_channels, out);
  return out;
}

}  // namespace wan::ops
