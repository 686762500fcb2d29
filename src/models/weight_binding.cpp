#include "models/weight_binding.h"

#include <set>

#include "core/error.h"
#include "core/thread_pool.h"

namespace wan {
namespace {

constexpr const char* kScaledFp8Marker = "scaled_fp8";

// "X.weight" -> "X.scale_weight"; empty for other names.
std::string scale_name_of(const std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return {};
  return name.substr(0, name.size() - suffix.size()) + ".scale_weight";
}

// The scale of a scaled FP8 slot, or undefined when the slot is not one.
Tensor scale_of(const TensorStore& store, const std::string& name) {
  const std::string scale = scale_name_of(name);
  if (scale.empty() || !store.contains(scale) || store.get(name).dtype() != DType::F8_E4M3) return {};
  const Tensor& s = store.get(scale);
  WAN_CHECK(s.numel() == 1 && dtype_is_floating(s.dtype()), store.file_of(scale), ": '", scale,
            "' must hold one floating-point scale for '", name, "', got ", s.describe());
  return s;
}

}  // namespace

void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model) {
  std::set<std::string> expected{kScaledFp8Marker};
  for (const WeightSlot& slot : slots) {
    WAN_CHECK(store.contains(slot.name), store.path(), ": missing tensor '", slot.name, "' (expected shape ",
              shape_str(slot.shape), " for ", model, "); is the checkpoint complete?");
    const Tensor& t = store.get(slot.name);
    WAN_CHECK(t.shape() == slot.shape, store.file_of(slot.name), ": tensor '", slot.name, "' has shape ",
              shape_str(t.shape()), ", but the config (", model, ") needs ", shape_str(slot.shape));
    WAN_CHECK(dtype_is_floating(t.dtype()), store.file_of(slot.name), ": tensor '", slot.name, "' has dtype ",
              dtype_name(t.dtype()), "; weights must be floating point");
    expected.insert(slot.name);
    if (scale_of(store, slot.name).defined()) {
      const std::string scale = scale_name_of(slot.name);
      expected.insert(scale);
      // An activation scale beside it (fp8 products in the file's own runtime) is not used here:
      // this engine quantises activations itself.
      expected.insert(scale.substr(0, scale.size() - std::string("scale_weight").size()) + "scale_input");
    }
  }
  std::vector<std::string> leftovers;
  for (const std::string& name : store.names())
    if (!expected.count(name)) leftovers.push_back(name);
  if (!leftovers.empty()) {
    std::string list;
    for (size_t i = 0; i < leftovers.size() && i < 5; ++i) list += (i ? ", " : "") + leftovers[i];
    if (leftovers.size() > 5) list += str(", ... (", leftovers.size(), " in all)");
    fail(store.path(), ": tensors this model does not use: ", list, "; the config (", model,
         ") does not describe this checkpoint");
  }
}

namespace {

// A converted copy of a checkpoint tensor (contiguous, memory-mapped), in parallel chunks: one
// thread converts ~1-2 GB/s, and a real-size checkpoint is 20-60 GB of fp32. Same dtype: the
// mapped tensor itself, no copy.
Tensor converted(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  if (!t.is_contiguous() || t.numel() < (int64_t(1) << 20)) return t.to(dtype);
  Tensor out = Tensor::empty(t.shape(), dtype);
  const int64_t n = t.numel();
  const Tensor src = t.view({n});
  Tensor dst = out.view({n});
  parallel_for(n, [&](int64_t a, int64_t b) {
    Tensor part = dst.narrow(0, a, b - a);
    part.copy_from(src.narrow(0, a, b - a));
  }, int64_t(1) << 18);
  return out;
}

}  // namespace

Tensor read_weight(const TensorStore& store, const std::string& name, DType dtype) {
  const Tensor scale = scale_of(store, name);
  if (!scale.defined()) return converted(store.get(name), dtype);
  // values · scale in f32 (exact for E4M3 values times an f32 scale up to one rounding), then dtype.
  Tensor w = converted(store.get(name), DType::F32);
  if (w.data_ptr() == store.get(name).data_ptr()) w = w.clone();  // never write into the mapped file
  const float s = scale.to(DType::F32).contiguous().data<float>()[0];
  float* p = w.data<float>();
  parallel_for(w.numel(), [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) p[i] *= s;
  }, int64_t(1) << 18);
  return converted(w, dtype);
}

void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype) {
  check_weights(store, slots, model);
  for (const WeightSlot& slot : slots) *slot.tensor = read_weight(store, slot.name, dtype);
}

int64_t parameter_count(const std::vector<WeightSlot>& slots) {
  int64_t n = 0;
  for (const WeightSlot& slot : slots) n += shape_numel(slot.shape);
  return n;
}

}  // namespace wan
