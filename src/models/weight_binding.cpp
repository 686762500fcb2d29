#include "models/weight_binding.h"

#include <set>

#include "core/error.h"
#include "core/thread_pool.h"
#include "io/json_config.h"

namespace wan {
namespace {

constexpr const char* kScaledFp8Marker = "scaled_fp8";

// "X.weight" -> "X"; empty for other names.
std::string weight_base(const std::string& name) {
  const std::string suffix = ".weight";
  if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) return {};
  return name.substr(0, name.size() - suffix.size());
}

// How a weight's scale covers it, the weight seen as [rows, cols] (rows = its first dim).
struct ScaleForm {
  enum Kind { None, One, PerRow, PerBlock } kind = None;
  std::string name;     // the scale tensor's name
  int64_t rows = 1, cols = 1;
  int64_t blocks = 1;   // PerBlock: blocks of cols / blocks columns in each row
};

// The scale beside `name` (X.scale_weight or X.weight_scale) and how it covers the weight; a
// scale of another shape, or both names at once, is an error naming the file.
ScaleForm scale_form(const TensorStore& store, const std::string& name) {
  const std::string base = weight_base(name);
  if (base.empty()) return {};
  const std::string comfy_fp8 = base + ".scale_weight", comfy_quant = base + ".weight_scale";
  WAN_CHECK(!(store.contains(comfy_fp8) && store.contains(comfy_quant)), store.file_of(name), ": '", name,
            "' has two scales ('", comfy_fp8, "' and '", comfy_quant, "'); a weight has one");
  ScaleForm f;
  f.name = store.contains(comfy_fp8) ? comfy_fp8 : store.contains(comfy_quant) ? comfy_quant : "";
  if (f.name.empty()) return {};
  const Tensor& w = store.get(name);
  const Tensor& s = store.get(f.name);
  WAN_CHECK(dtype_is_floating(s.dtype()), store.file_of(f.name), ": the scale '", f.name, "' has dtype ",
            dtype_name(s.dtype()), "; a weight's scale must be floating point (f32, bf16 or f16)");
  f.rows = w.dim() ? w.size(0) : 1;
  f.cols = f.rows ? w.numel() / f.rows : 0;
  const Shape& ss = s.shape();
  const bool trailing_one = ss.size() >= 2 && ss.back() == 1;
  if (s.numel() == 1) {
    f.kind = ScaleForm::One;
  } else if (ss.size() >= 1 && ss[0] == f.rows && (ss.size() == 1 || (ss.size() == 2 && trailing_one))) {
    f.kind = ScaleForm::PerRow;
  } else if (ss.size() >= 2 && ss[0] == f.rows && (ss.size() == 2 || (ss.size() == 3 && trailing_one)) &&
             ss[1] > 1 && f.cols % ss[1] == 0) {
    f.kind = ScaleForm::PerBlock;
    f.blocks = ss[1];
  } else {
    fail(store.file_of(f.name), ": the scale '", f.name, "' has shape ", shape_str(ss), "; for '", name, "' (",
         shape_str(w.shape()), ", read as ", f.rows, " rows of ", f.cols,
         ") a scale must hold one value, one per row ([", f.rows, "] or [", f.rows,
         ", 1]) or one per row and block of columns ([", f.rows, ", blocks] with ", f.cols,
         " a multiple of blocks)");
  }
  return f;
}

// The scale's values in f32, contiguous: [1], [rows] or [rows·blocks].
Tensor scale_values(const TensorStore& store, const ScaleForm& f) {
  return store.get(f.name).to(DType::F32).contiguous().view({store.get(f.name).numel()});
}

// A ComfyUI quantised layer says its format in `X.comfy_quant` (JSON bytes); only the FP8 formats
// store a weight this loader can read (values times scales).
void check_quant_format(const TensorStore& store, const std::string& name) {
  const std::string marker = weight_base(name) + ".comfy_quant";
  if (weight_base(name).empty() || !store.contains(marker)) return;
  const Tensor bytes = store.get(marker).contiguous();
  WAN_CHECK(bytes.dtype() == DType::U8, store.file_of(marker), ": '", marker, "' should hold JSON bytes (uint8), got ",
            bytes.describe());
  const std::string text(static_cast<const char*>(bytes.data_ptr()), size_t(bytes.numel()));
  const nlohmann::json j = parse_json_object(text, store.file_of(marker) + ": '" + marker + "'");
  std::string format;
  read_json_key(j, "format", format, store.file_of(marker) + ": '" + marker + "'");
  WAN_CHECK(format == "float8_e4m3fn" || format == "float8_e5m2", store.file_of(name), ": '", name,
            "' is quantised as '", format.empty() ? "(no format given)" : format,
            "', a format this engine does not read (it reads float8_e4m3fn and float8_e5m2 weights with their "
            "scales, and bf16, fp16 or fp32 weights): use a bf16, fp16 or fp8 (e4m3fn) file of this model");
}

}  // namespace

void check_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                   const std::set<std::string>& ignored) {
  std::set<std::string> expected = ignored;
  expected.insert(kScaledFp8Marker);
  for (const WeightSlot& slot : slots) {
    WAN_CHECK(store.contains(slot.name), store.path(), ": missing tensor '", slot.name, "' (expected shape ",
              shape_str(slot.shape), " for ", model, "); is the checkpoint complete?");
    const Tensor& t = store.get(slot.name);
    check_quant_format(store, slot.name);
    WAN_CHECK(t.shape() == slot.shape, store.file_of(slot.name), ": tensor '", slot.name, "' has shape ",
              shape_str(t.shape()), ", but the config (", model, ") needs ", shape_str(slot.shape));
    WAN_CHECK(dtype_is_floating(t.dtype()), store.file_of(slot.name), ": tensor '", slot.name, "' has dtype ",
              dtype_name(t.dtype()),
              "; weights must be floating point (f32, bf16, f16, or fp8 with a scale): integer-quantised files "
              "(int8, nvfp4, GGUF-style) are not read by this engine");
    expected.insert(slot.name);
    const ScaleForm scale = scale_form(store, slot.name);
    if (scale.kind != ScaleForm::None) {
      const std::string base = weight_base(slot.name);
      // An activation scale beside it (fp8 products in the file's own runtime) is not used here:
      // this engine quantises activations itself.
      for (const char* extra : {".scale_weight", ".weight_scale", ".scale_input", ".input_scale", ".comfy_quant"})
        expected.insert(base + extra);
    } else if (!weight_base(slot.name).empty()) {
      expected.insert(weight_base(slot.name) + ".comfy_quant");
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
  const ScaleForm f = scale_form(store, name);
  if (f.kind == ScaleForm::None) return converted(store.get(name), dtype);
  // values · scale in f32 (exact for E4M3/E5M2 values times an f32 scale up to one rounding), then dtype.
  Tensor w = converted(store.get(name), DType::F32);
  if (w.data_ptr() == store.get(name).data_ptr()) w = w.clone();  // never write into the mapped file
  const Tensor scales = scale_values(store, f);
  const float* s = scales.data<float>();
  float* p = w.data<float>();
  // Element i is row i / cols, column i % cols; its scale: the one, the row's, or the row's block's.
  const int64_t cols = f.cols, block_cols = f.kind == ScaleForm::PerBlock ? f.cols / f.blocks : f.cols;
  const int64_t per_row = f.kind == ScaleForm::PerBlock ? f.blocks : 1;
  parallel_for(w.numel(), [&](int64_t a, int64_t b) {
    for (int64_t i = a; i < b; ++i) {
      const int64_t at = f.kind == ScaleForm::One ? 0 : (i / cols) * per_row + (i % cols) / block_cols;
      p[i] *= s[at];
    }
  }, int64_t(1) << 18);
  return converted(w, dtype);
}

std::optional<StoredFp8Weight> read_stored_fp8(const TensorStore& store, const std::string& name) {
  const Tensor& w = store.get(name);
  if (w.dtype() != DType::F8_E4M3 || w.dim() != 2) return std::nullopt;
  const ScaleForm f = scale_form(store, name);
  if (f.kind == ScaleForm::PerBlock) return std::nullopt;
  const int64_t rows = w.size(0);
  Tensor row_scales = Tensor::empty({rows}, DType::F32);
  float* r = row_scales.data<float>();
  if (f.kind == ScaleForm::None) {
    for (int64_t i = 0; i < rows; ++i) r[i] = 1.0f;
  } else {
    const Tensor s = scale_values(store, f);
    for (int64_t i = 0; i < rows; ++i) r[i] = s.data<float>()[f.kind == ScaleForm::One ? 0 : i];
  }
  // A view of the file: no host copy (a parallel copy, which reads the pages with many threads,
  // measured no faster from a cold disk: 31.0 s against 30.8 s for an A14B fp8_scaled checkpoint).
  return StoredFp8Weight{w.contiguous(), row_scales};
}

void bind_weights(const TensorStore& store, const std::vector<WeightSlot>& slots, const std::string& model,
                  DType dtype) {
  check_weights(store, slots, model);
  for (const WeightSlot& slot : slots) *slot.tensor = read_weight(store, slot.name, dtype);
}

void bind_weights_keeping_fp8(const TensorStore& store, const std::vector<WeightSlot>& slots,
                              const std::string& model, DType dtype,
                              const std::function<bool(const std::string&)>& keep_fp8,
                              std::map<std::string, Tensor>& row_scales) {
  check_weights(store, slots, model);
  for (const WeightSlot& slot : slots) {
    std::optional<StoredFp8Weight> stored;
    if (keep_fp8(slot.name)) stored = read_stored_fp8(store, slot.name);
    if (stored) {
      *slot.tensor = stored->values;
      row_scales[slot.name] = stored->row_scales;
    } else {
      *slot.tensor = read_weight(store, slot.name, dtype);
    }
  }
}

std::string scale_weight_name(const std::string& weight_name) {
  const std::string base = weight_base(weight_name);
  WAN_CHECK(!base.empty(), "scale_weight_name: '", weight_name, "' is not a weight's name (X.weight)");
  return base + ".scale_weight";
}

int64_t parameter_count(const std::vector<WeightSlot>& slots) {
  int64_t n = 0;
  for (const WeightSlot& slot : slots) n += shape_numel(slot.shape);
  return n;
}

}  // namespace wan
