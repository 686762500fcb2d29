// The DiT with FP8 E4M3 weights, emulated on the CPU (issue 8's error budget): every block's
// Linear weight (self- and cross-attention q, k, v, o; the FFN's two matrices: 99% of the
// parameters and of the matrix-product FLOPs) replaced by its E4M3 values times its scales
// (ops/quantize.h). What stays as it is, by choice: the patch, text and time embeddings, the
// time projection, the head, modulation, norms and biases (small, and on the paths into and out
// of the residual stream). Activations and attention stay f32 here: this measures what the
// weights alone cost.
#pragma once

#include "models/wan_dit_weights.h"
#include "ops/quantize.h"

namespace wan {

WanDiTWeights with_fp8_block_weights(const WanDiTWeights& weights, ops::Fp8Scaling scaling);

}  // namespace wan
