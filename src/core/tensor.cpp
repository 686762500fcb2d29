#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>

#include "core/memory.h"
#include "core/thread_pool.h"

namespace wan {

const char* device_name(Device device) { return device == Device::CPU ? "cpu" : "cuda"; }

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    WAN_CHECK(d >= 0, "negative size in shape ", shape_str(shape));
    WAN_CHECK(d == 0 || n <= std::numeric_limits<int64_t>::max() / d, "shape ", shape_str(shape),
              " has more elements than fit in 64 bits");
    n *= d;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

// ---------------------------------------------------------------------------------------------
// Storage

Storage::Storage(void* data, size_t nbytes, Device device, std::shared_ptr<const void> owner)
    : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}

Storage::~Storage() {
  if (owns_allocation_) {
    std::free(data_);
    note_host_free(int64_t(nbytes_));
  }
}

std::shared_ptr<Storage> Storage::allocate_cpu(size_t nbytes) {
  const size_t alignment = 64;
  const size_t rounded = (std::max<size_t>(nbytes, 1) + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, rounded);
  if (!p)
    fail("out of host memory: could not allocate ", nbytes, " bytes (", nbytes >> 20,
         " MiB); free memory or use a smaller size");
  auto storage = std::make_shared<Storage>(p, nbytes, Device::CPU, nullptr);
  storage->owns_allocation_ = true;
  note_host_alloc(int64_t(nbytes));
  return storage;
}

// ---------------------------------------------------------------------------------------------
// Element conversion

namespace {

template <typename F>
void visit_dtype(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::BF16: return f(bf16{});
    case DType::F16: return f(f16{});
    case DType::F8_E4M3: return f(f8e4m3{});
    case DType::F8_E5M2: return f(f8e5m2{});
    case DType::I32: return f(int32_t{});
    case DType::I64: return f(int64_t{});
    case DType::U8: return f(uint8_t{});
    case DType::Bool: return f(bool{});
  }
}

// Every value passes through double (floats) or int64 (integers); both are exact for the source.
template <typename T> double as_double(T v) { return double(v); }
template <> double as_double(bf16 v) { return to_float(v); }
template <> double as_double(f16 v) { return to_float(v); }
template <> double as_double(f8e4m3 v) { return to_float(v); }
template <> double as_double(f8e5m2 v) { return to_float(v); }

template <typename T> T from_double(double v) { return static_cast<T>(v); }
template <> bool from_double(double v) { return v != 0.0; }
template <> bf16 from_double(double v) { return to_bf16(float(v)); }
template <> f16 from_double(double v) { return to_f16(float(v)); }
template <> f8e4m3 from_double(double v) { return to_f8e4m3(float(v)); }
template <> f8e5m2 from_double(double v) { return to_f8e5m2(float(v)); }

template <typename D, typename S>
D convert_value(S v) {
  if constexpr (std::is_same_v<D, S>) {
    return v;
  } else if constexpr (std::is_integral_v<D> && std::is_integral_v<S>) {
    if constexpr (std::is_same_v<D, bool>) return v != 0;
    return static_cast<D>(v);
  } else if constexpr (std::is_same_v<D, float> && std::is_same_v<S, bf16>) {
    return to_float(v);
  } else if constexpr (std::is_same_v<D, bf16> && std::is_same_v<S, float>) {
    return to_bf16(v);
  } else {
    return from_double<D>(as_double(v));
  }
}

// Calls fn(src_offset, dst_offset) in elements for every index of `shape`, iterating the last dim fastest.
template <typename Fn>
void for_each_index(const Shape& shape, const Shape& src_strides, const Shape& dst_strides, Fn&& fn) {
  const int64_t n = shape_numel(shape);
  if (n == 0) return;
  const size_t nd = shape.size();
  std::vector<int64_t> idx(nd, 0);
  int64_t so = 0, d_o = 0;
  for (int64_t i = 0; i < n; ++i) {
    fn(so, d_o);
    for (size_t d = nd; d-- > 0;) {
      if (++idx[d] < shape[d]) {
        so += src_strides[d];
        d_o += dst_strides[d];
        break;
      }
      so -= src_strides[d] * (shape[d] - 1);
      d_o -= dst_strides[d] * (shape[d] - 1);
      idx[d] = 0;
    }
  }
}

void copy_elements(const Tensor& src, const Tensor& dst) {
  WAN_CHECK(src.shape() == dst.shape(), "copy: shape ", shape_str(src.shape()), " into ",
            shape_str(dst.shape()));
  WAN_CHECK(src.device() == Device::CPU && dst.device() == Device::CPU,
            "copy between devices is done by the backend, not Tensor::copy_from");
  const int64_t n = src.numel();
  if (n == 0) return;
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous()) {
    std::memmove(dst.data_ptr(), src.data_ptr(), src.nbytes());
    return;
  }
  visit_dtype(src.dtype(), [&](auto s_tag) {
    using S = decltype(s_tag);
    visit_dtype(dst.dtype(), [&](auto d_tag) {
      using D = decltype(d_tag);
      const S* s = static_cast<const S*>(src.data_ptr());
      D* d = static_cast<D*>(dst.data_ptr());
      if (src.is_contiguous() && dst.is_contiguous()) {
        // The hot path: whole checkpoints are converted here at load, so spread it over threads.
        parallel_for(n, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) d[i] = convert_value<D>(s[i]);
        }, 1 << 16);
      } else {
        for_each_index(src.shape(), src.strides(), dst.strides(),
                       [&](int64_t so, int64_t d_o) { d[d_o] = convert_value<D>(s[so]); });
      }
    });
  });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Tensor

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  WAN_CHECK(device == Device::CPU, "Tensor::empty allocates host memory only; device tensors come from the backend");
  const int64_t n = shape_numel(shape);
  WAN_CHECK(uint64_t(n) <= std::numeric_limits<size_t>::max() / dtype_size(dtype), "tensor of shape ",
            shape_str(shape), " is too large");
  Tensor t;
  t.storage_ = Storage::allocate_cpu(size_t(n) * dtype_size(dtype));
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.data_ptr(), 0, t.nbytes());
  return t;
}

Tensor Tensor::from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape,
                            DType dtype) {
  WAN_CHECK(storage != nullptr, "from_storage: null storage");
  const size_t bytes = size_t(shape_numel(shape)) * dtype_size(dtype);
  WAN_CHECK(byte_offset <= storage->nbytes() && bytes <= storage->nbytes() - byte_offset,
            "from_storage: ", bytes, " bytes at offset ", byte_offset, " exceed the storage of ",
            storage->nbytes(), " bytes");
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = byte_offset;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  return t;
}

Tensor Tensor::from_storage_strided(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape,
                                    const Shape& strides, DType dtype) {
  WAN_CHECK(storage != nullptr, "from_storage_strided: null storage");
  WAN_CHECK(shape.size() == strides.size(), "from_storage_strided: shape ", shape_str(shape), " and strides ",
            shape_str(strides), " differ in length");
  uint64_t span = 0;  // elements from the first to one past the last
  if (shape_numel(shape) > 0) {
    span = 1;
    for (size_t d = 0; d < shape.size(); ++d) {
      WAN_CHECK(strides[d] >= 0, "from_storage_strided: negative stride");
      span += uint64_t(shape[d] - 1) * uint64_t(strides[d]);
    }
  }
  const uint64_t bytes = span * dtype_size(dtype);
  WAN_CHECK(byte_offset <= storage->nbytes() && bytes <= storage->nbytes() - byte_offset, "from_storage_strided: ",
            bytes, " bytes at offset ", byte_offset, " exceed the storage of ", storage->nbytes(), " bytes");
  Tensor t;
  t.storage_ = std::move(storage);
  t.offset_ = byte_offset;
  t.shape_ = shape;
  t.strides_ = strides;
  t.dtype_ = dtype;
  return t;
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::CPU; }

int64_t Tensor::numel() const { return shape_numel(shape_); }

bool Tensor::is_contiguous() const {
  if (numel() == 0) return true;  // no elements: any strides describe the same (empty) memory
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

bool Tensor::is_dense() const {
  if (numel() == 0) return true;
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size) of the dims with more than one element
  for (size_t i = 0; i < shape_.size(); ++i)
    if (shape_[i] != 1) dims.emplace_back(strides_[i], shape_[i]);
  std::sort(dims.begin(), dims.end());
  int64_t expected = 1;
  for (const auto& [stride, size] : dims) {
    if (stride != expected) return false;
    expected *= size;
  }
  return true;
}

bool Tensor::is_channels_last() const {
  if (numel() == 0 || shape_.empty()) return true;
  int64_t expected = shape_[0];
  if (shape_[0] != 1 && strides_[0] != 1) return false;
  for (size_t i = shape_.size(); i-- > 1;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return std::string(dtype_name(dtype_)) + shape_str(shape_);
}

void* Tensor::data_ptr() const {
  WAN_CHECK(defined(), "access to an undefined tensor");
  return static_cast<char*>(storage_->data()) + offset_;
}

int64_t Tensor::wrap_dim(int64_t d, int64_t ndim_extra) const {
  const int64_t nd = dim() + ndim_extra;
  WAN_CHECK(d >= -nd && d < nd, "dimension ", d, " out of range for ", describe());
  return d < 0 ? d + nd : d;
}

Tensor Tensor::view(Shape shape) const {
  WAN_CHECK(is_contiguous(), "view of a non-contiguous tensor ", describe(), "; call contiguous() first");
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      WAN_CHECK(infer < 0, "view: more than one -1 in ", shape_str(shape));
      infer = int64_t(i);
    } else {
      WAN_CHECK(shape[i] >= 0, "view: bad size in ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    WAN_CHECK(known > 0 && numel() % known == 0, "view: cannot infer -1 in ", shape_str(shape), " for ",
              describe());
    shape[infer] = numel() / known;
  }
  WAN_CHECK(shape_numel(shape) == numel(), "view: ", describe(), " cannot be viewed as ", shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  return t;
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d);
  WAN_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d], "narrow(", d, ", ", start, ", ",
            length, ") out of range for ", describe());
  Tensor t = *this;
  t.offset_ += size_t(start * strides_[d]) * dtype_size(dtype_);
  t.shape_[d] = length;
  return t;
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = wrap_dim(d);
  WAN_CHECK(index >= 0 && index < shape_[d], "select(", d, ", ", index, ") out of range for ", describe());
  Tensor t = narrow(d, index, 1);
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  WAN_CHECK(int64_t(dims.size()) == dim(), "permute: ", dims.size(), " dims for ", describe());
  std::vector<bool> seen(dims.size(), false);
  Tensor t = *this;
  for (size_t i = 0; i < dims.size(); ++i) {
    const int64_t d = wrap_dim(dims[i]);
    WAN_CHECK(!seen[d], "permute: dimension ", d, " repeated");
    seen[d] = true;
    t.shape_[i] = shape_[d];
    t.strides_[i] = strides_[d];
  }
  return t;
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, 1);
  Tensor t = *this;
  const int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, stride);
  return t;
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape_, dtype_);
  copy_elements(*this, t);
  return t;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor t = empty(shape_, dtype);
  copy_elements(*this, t);
  return t;
}

void Tensor::copy_from(const Tensor& src) { copy_elements(src, *this); }

void Tensor::fill(double value) {
  visit_dtype(dtype_, [&](auto tag) {
    using T = decltype(tag);
    const T v = convert_value<T>(value);
    T* base = static_cast<T*>(data_ptr());
    for_each_index(shape_, strides_, strides_, [&](int64_t, int64_t o) { base[o] = v; });
  });
}

}  // namespace wan
