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
void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model);

// check_weights, then binds every slot converted to `dtype` (views of the file when it already matches).
void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype);

int64_t parameter_count(const std::vector<WeightSlot>& slots);

}  // namespace wan
