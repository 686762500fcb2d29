// The tensor: a typed, shaped, strided view of a storage, in PyTorch order.
//
// Shapes and strides follow PyTorch: row-major, strides in elements, the last dimension fastest
// ([B, C, T, H, W], [B, L, D]). Views (view, narrow, select, permute, unsqueeze) share the storage;
// contiguous(), clone() and to() copy. A storage is either memory this library allocated or memory
// owned by someone else (a memory-mapped checkpoint) and kept alive as long as any view of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace wan {

enum class Device : uint8_t { CPU, CUDA };
const char* device_name(Device device);

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& shape);  // "[1, 72, 256]"
int64_t shape_numel(const Shape& shape);    // throws on negative sizes or overflow
Shape contiguous_strides(const Shape& shape);

class Storage {
 public:
  // Wraps memory owned by `owner` (which may be null for memory that outlives every tensor).
  Storage(void* data, size_t nbytes, Device device, std::shared_ptr<const void> owner);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  // 64-byte aligned host memory, freed with the storage. Throws a clear error when out of memory.
  static std::shared_ptr<Storage> allocate_cpu(size_t nbytes);

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  std::shared_ptr<const void> owner_;
  bool owns_allocation_ = false;
};

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false

  static Tensor empty(const Shape& shape, DType dtype, Device device = Device::CPU);
  static Tensor zeros(const Shape& shape, DType dtype);
  // A contiguous tensor over `storage` starting at `byte_offset`; checks that it fits.
  static Tensor from_storage(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape,
                             DType dtype);
  // A strided view (element strides, non-negative) over `storage`; checks that every element fits.
  static Tensor from_storage_strided(std::shared_ptr<Storage> storage, size_t byte_offset, const Shape& shape,
                                     const Shape& strides, DType dtype);
  template <typename T>
  static Tensor from_vector(const std::vector<T>& values, const Shape& shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  size_t byte_offset() const { return offset_; }  // from the storage's start to element [0, ...]
  Device device() const;
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t dim() const { return int64_t(shape_.size()); }
  int64_t size(int64_t d) const { return shape_[wrap_dim(d)]; }
  int64_t stride(int64_t d) const { return strides_[wrap_dim(d)]; }
  int64_t numel() const;
  size_t nbytes() const { return size_t(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;
  // Dense: the elements fill numel() consecutive slots from data_ptr() in some order of the dims
  // (a permutation of a contiguous tensor, e.g. channels-last, or a time window of one).
  bool is_dense() const;
  // Channels-last: dim 0 innermost, the other dims row-major after it (an [C, T, H, W] video stored
  // as [T, H, W, C], cuDNN's NDHWC with N = 1). Size-1 dims may have any stride.
  bool is_channels_last() const;
  std::string describe() const;  // "f32[1, 72, 256]"
  const std::shared_ptr<Storage>& storage() const { return storage_; }

  void* data_ptr() const;  // address of element [0, 0, ...]
  template <typename T>
  T* data() const {
    WAN_CHECK(dtype_ == dtype_of<T>, "tensor ", describe(), " accessed as ", dtype_name(dtype_of<T>));
    return static_cast<T*>(data_ptr());
  }

  // Views sharing the storage. Negative dims count from the end.
  Tensor view(Shape shape) const;  // needs a contiguous tensor; one size may be -1
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor unsqueeze(int64_t dim) const;

  // Copies.
  Tensor contiguous() const;  // this tensor when already contiguous
  Tensor clone() const;
  Tensor to(DType dtype) const;  // a converted copy; this tensor when the dtype already matches
  // Copies src's elements into this tensor (same shape; any dtypes, converted like to()).
  void copy_from(const Tensor& src);
  void fill(double value);
  template <typename T>
  std::vector<T> to_vector() const;

  int64_t wrap_dim(int64_t d, int64_t ndim_extra = 0) const;

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // bytes from the storage's start to element [0, ...]
  Shape shape_;
  Shape strides_;
  DType dtype_ = DType::F32;
};

template <typename T>
Tensor Tensor::from_vector(const std::vector<T>& values, const Shape& shape) {
  WAN_CHECK(int64_t(values.size()) == shape_numel(shape), "from_vector: ", values.size(),
            " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>);
  T* p = t.data<T>();
  for (size_t i = 0; i < values.size(); ++i) p[i] = values[i];
  return t;
}

template <typename T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(dtype_of<T>).contiguous();
  const T* p = c.data<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace wan
