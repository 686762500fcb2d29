// Binding a model's weights by their official state-dict names: one table of slots per model
// (name, destination, expected shape), checked and bound the same way for every model.
#pragma once

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
// Scaled FP8 checkpoints (the "fp8_scaled" convention of ComfyUI-style files): a slot `X.weight`
// stored as float8_e4m3fn may come with `X.scale_weight`, an f32 scale of one element, meaning
// weight = values · scale; the optional marker tensor `scaled_fp8` and an `X.scale_input` beside
// a scaled weight (an activation scale, unused here) are allowed. Those are not leftovers. (Built
// from public descriptions of the convention; no such real file was at hand.)
void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model);

// check_weights, then binds every slot converted to `dtype` (views of the file when it already
// matches; scaled FP8 weights dequantised with their scale first).
void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype);

// One slot's tensor as bind_weights reads it: converted to `dtype`, a scaled FP8 weight
// dequantised with its scale first (a view of the file when nothing needs converting).
Tensor read_weight(const TensorStore& store, const std::string& name, DType dtype);

int64_t parameter_count(const std::vector<WeightSlot>& slots);

}  // namespace wan
