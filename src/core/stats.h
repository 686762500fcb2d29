// Summaries and comparisons of tensors: the relative L2 error used against every reference, and
// basic statistics for tools. Any dtype and layout; computed in double.
#pragma once

#include "core/tensor.h"

namespace wan {

struct TensorStats {
  double mean = 0, stddev = 0, min = 0, max = 0;
  int64_t non_finite = 0;  // NaN and inf elements
};

TensorStats tensor_stats(const Tensor& t);

// ‖a − ref‖₂ / ‖ref‖₂ (‖a‖₂ when ref is all zeros); infinity when any element of a is not finite.
double rel_l2(const Tensor& a, const Tensor& ref);
// a·b / (‖a‖₂ ‖b‖₂) in double; 0 when either is all zeros.
double cosine_similarity(const Tensor& a, const Tensor& b);

}  // namespace wan
