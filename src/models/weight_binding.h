// Binding a model's weights by their official state-dict names: one table of slots per model
// (name, destination, expected shape), checked and bound the same way for every model.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/checkpoint.h"

namespace wan {

struct WeightSlot {
  std::string name;  // official state-dict name
  Tensor* tensor;    // where the bound tensor goes
  Shape shape;       // the shape the config requires
};

// Checks, without reading any weight, that the store holds exactly the slots' tensors with the
// right shapes and floating dtypes. Errors name the file and the tensor; `model` (a config
// summary) says what was expected.
//
// Scaled weights (FP8 checkpoints; built from public descriptions of the conventions, no real file
// was at hand): a slot `X.weight` may come with a scale tensor, meaning weight = values · scale,
// named either
//   `X.scale_weight` — ComfyUI's "fp8_scaled" files (optional marker tensor `scaled_fp8`), or
//   `X.weight_scale` — ComfyUI's quantised-layer format (optional `X.comfy_quant`, a uint8 JSON
//                      tensor whose "format" must be float8_e4m3fn or float8_e5m2: other formats
//                      (nvfp4, mxfp8, int8, ...) are refused by name).
// The scale is floating point (f32, bf16 or f16) and holds one value (any shape of one element),
// one per output row ([rows] or [rows, 1]) or one per row and block of columns ([rows, blocks]
// or [rows, blocks, 1], the column count a multiple of blocks); the values are any floating
// dtype, usually float8_e4m3fn or float8_e5m2. An activation scale beside it (`X.scale_input` /
// `X.input_scale`: the file's own runtime's, unused here: this engine quantises activations
// itself) is allowed. None of those are leftovers, nor are the names in `ignored` (tensors a file
// may carry that the model does not read, such as a tied copy of an embedding).
void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                   const std::set<std::string>& ignored = {});

// check_weights, then binds every slot converted to `dtype` (views of the file when it already
// matches; scaled weights dequantised with their scales first).
void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype);

// One slot's tensor as bind_weights reads it: converted to `dtype`, a scaled weight dequantised
// with its scales first (values · scale in f32, then `dtype`; a view of the file when nothing
// needs converting).
Tensor read_weight(const TensorStore& store, const std::string& name, DType dtype);

// A 2-D weight stored in float8_e4m3fn with one scale, one scale per output row, or none: its
// values as stored (a view of the file) and one f32 scale per row ([rows]) — the form the FP8
// matrix products compute with (ops::Fp8Matrix), so an FP8 run uses the file's own quantisation
// as it is instead of dequantising and quantising again. nullopt for any other weight (another
// dtype, E5M2, block scales).
struct StoredFp8Weight {
  Tensor values;      // F8_E4M3 [rows, cols]
  Tensor row_scales;  // F32 [rows]
};
std::optional<StoredFp8Weight> read_stored_fp8(const TensorStore& store, const std::string& name);

// bind_weights, except that the slots `keep_fp8` picks are bound as stored (read_stored_fp8) when
// they can be: their E4M3 values go into the slot, their row scales into `row_scales` under the
// slot's name. Every other slot as bind_weights binds it.
void bind_weights_keeping_fp8(const TensorStore& store, const std::vector<WeightSlot>& slots,
                              const std::string& model, DType dtype,
                              const std::function<bool(const std::string&)>& keep_fp8,
                              std::map<std::string, Tensor>& row_scales);

// The fp8_scaled name of a weight's scale: "X.weight" -> "X.scale_weight" (what this engine writes).
std::string scale_weight_name(const std::string& weight_name);

int64_t parameter_count(const std::vector<WeightSlot>& slots);

}  // namespace wan
