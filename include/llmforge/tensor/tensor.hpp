// SPDX-License-Identifier: MIT
// Tensor<DType, Backend>: typed, strided, shared-storage N-dimensional array and its views.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <llmforge/backend/cpu.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/tensor/shape.hpp>

namespace llmforge {

/// Ownership tag: the tensor refers to memory whose lifetime the caller guarantees.
struct Borrow {};
/// Ownership tag: the tensor shares ownership of foreign memory through a `shared_ptr` owner.
struct Adopt {};
inline constexpr Borrow kBorrow{};
inline constexpr Adopt kAdopt{};

/// An N-dimensional array of `D` elements in `B` memory.
///
/// The element type and backend are compile-time parameters; shape and strides are run-time values.
/// Copying a Tensor is cheap and makes another *view* of the same storage (like NumPy or PyTorch);
/// views keep their storage alive. Use `clone()` for a deep copy. For quantized block types the last
/// dimension counts elements, must be a multiple of `D::kBlockSize`, and is always contiguous; the
/// other strides count blocks.
/// @tparam D a DType tag (`F32`, `F16`, `BF16`, `Q4_0`, ...).
/// @tparam B a Backend tag (`Cpu`).
template <DType D, Backend B = Cpu>
class Tensor {
 public:
  using dtype = D;
  using backend = B;
  using storage_type = typename D::storage_type;

  /// An empty tensor (rank 0, no storage, `numel() == 0`).
  Tensor() = default;

  /// Allocates an uninitialised contiguous tensor.
  /// @throws ShapeError if a quantized tensor's last dimension is not a multiple of the block size.
  [[nodiscard]] static Tensor empty(const Shape& shape) {
    check_block_shape(shape);
    Tensor t;
    const std::size_t bytes = storage_units(shape) * sizeof(storage_type);
    void* p = B::allocate(bytes);
    t.owner_ = std::shared_ptr<void>(p, [](void* q) { B::deallocate(q); });
    t.data_ = static_cast<storage_type*>(p);
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    t.is_empty_ = false;
    return t;
  }

  /// Allocates a contiguous tensor filled with zero bytes (0.0 for float types).
  [[nodiscard]] static Tensor zeros(const Shape& shape) {
    Tensor t = empty(shape);
    std::memset(static_cast<void*>(t.data_), 0, t.nbytes());
    return t;
  }

  /// Views memory the caller keeps alive for as long as the tensor (and its views) are used.
  Tensor(Borrow, storage_type* data, const Shape& shape) : Tensor(std::shared_ptr<void>(), data, shape) {}

  /// Views memory kept alive by `owner` (e.g. a memory-mapped file); the tensor shares ownership.
  Tensor(Adopt, std::shared_ptr<const void> owner, storage_type* data, const Shape& shape)
      : Tensor(std::const_pointer_cast<void>(std::move(owner)), data, shape) {}

  [[nodiscard]] std::size_t rank() const noexcept { return shape_.rank(); }
  [[nodiscard]] const Shape& shape() const noexcept { return shape_; }
  [[nodiscard]] const Strides& strides() const noexcept { return strides_; }
  /// Extent of dimension `i`; negative `i` counts from the end.
  [[nodiscard]] std::size_t dim(std::ptrdiff_t i) const { return shape_[normalize_axis(i)]; }
  [[nodiscard]] std::ptrdiff_t stride(std::ptrdiff_t i) const { return strides_[normalize_axis(i)]; }
  /// Number of logical elements (0 for a default-constructed tensor).
  [[nodiscard]] std::size_t numel() const noexcept { return is_empty_ ? 0 : llmforge::numel(shape_); }
  /// Bytes the elements occupy when contiguous.
  [[nodiscard]] std::size_t nbytes() const noexcept { return is_empty_ ? 0 : storage_units(shape_) * sizeof(storage_type); }
  [[nodiscard]] bool defined() const noexcept { return !is_empty_; }
  [[nodiscard]] storage_type* data() const noexcept { return data_; }
  /// The shared owner of the storage (null for borrowed memory).
  [[nodiscard]] const std::shared_ptr<void>& owner() const noexcept { return owner_; }

  /// True when elements are laid out densely in row-major order.
  [[nodiscard]] bool is_contiguous() const noexcept {
    const Strides want = contiguous_strides(shape_);
    for (std::size_t i = 0; i < rank(); ++i)
      if (shape_[i] != 1 && strides_[i] != want[i]) return false;
    return true;
  }

  /// Pointer to the first storage unit of row `r` of a 2-D tensor (row stride = `stride(0)`).
  [[nodiscard]] storage_type* row(std::size_t r) const noexcept {
    return data_ + static_cast<std::ptrdiff_t>(r) * strides_[0];
  }
  /// Bytes between consecutive rows of a 2-D tensor.
  [[nodiscard]] std::size_t row_bytes() const noexcept {
    return static_cast<std::size_t>(strides_[0]) * sizeof(storage_type);
  }

  /// Element reference by multi-index (scalar types only; bounds are checked).
  template <class... I>
    requires(kIsScalarType<D> && (std::is_integral_v<I> && ...))
  [[nodiscard]] storage_type& at(I... idx) const {
    const std::size_t ids[] = {static_cast<std::size_t>(idx)...};
    if (sizeof...(I) != rank())
      throw ShapeError("at(): " + std::to_string(sizeof...(I)) + " indices given for a tensor of shape " +
                       to_string(shape_));
    std::ptrdiff_t off = 0;
    for (std::size_t i = 0; i < sizeof...(I); ++i) {
      if (ids[i] >= shape_[i])
        throw ShapeError("at(): index " + std::to_string(ids[i]) + " is out of range for dimension " +
                         std::to_string(i) + " of shape " + to_string(shape_));
      off += static_cast<std::ptrdiff_t>(ids[i]) * strides_[i];
    }
    return data_[off];
  }

  /// A view with a new shape over the same elements; the tensor must be contiguous.
  /// One extent may be -1 (inferred) when given through `reshape_infer`.
  /// @throws ShapeError if the element counts differ or the tensor is not contiguous.
  [[nodiscard]] Tensor reshape(const Shape& shape) const {
    if (llmforge::numel(shape) != numel())
      throw ShapeError("reshape: cannot view shape " + to_string(shape_) + " as " + to_string(shape) +
                       " (element counts differ)");
    if (!is_contiguous())
      throw ShapeError("reshape: tensor of shape " + to_string(shape_) +
                       " is not contiguous; call contiguous() first");
    check_block_shape(shape);
    Tensor t = *this;
    t.shape_ = shape;
    t.strides_ = contiguous_strides(shape);
    return t;
  }

  /// A view of `[begin, end)` along `axis` taking every `step`-th element.
  /// @throws ShapeError if the range is outside the dimension or the step is zero.
  [[nodiscard]] Tensor slice(std::ptrdiff_t axis, std::size_t begin, std::size_t end, std::size_t step = 1) const {
    const std::size_t a = normalize_axis(axis);
    if (step == 0) throw ShapeError("slice: step must be positive");
    if (begin > end || end > shape_[a])
      throw ShapeError("slice: range [" + std::to_string(begin) + ", " + std::to_string(end) +
                       ") is outside dimension " + std::to_string(a) + " of shape " + to_string(shape_));
    if constexpr (kIsBlockType<D>) {
      if (a == rank() - 1 && (step != 1 || begin % D::kBlockSize || end % D::kBlockSize))
        throw ShapeError("slice: the last dimension of a " + std::string(D::kName) +
                         " tensor can only be cut at multiples of " + std::to_string(D::kBlockSize));
    }
    Tensor t = *this;
    const std::ptrdiff_t unit = (kIsBlockType<D> && a == rank() - 1) ? static_cast<std::ptrdiff_t>(D::kBlockSize) : 1;
    t.data_ = data_ + static_cast<std::ptrdiff_t>(begin) / unit * strides_[a];
    t.shape_[a] = (end - begin + step - 1) / step;
    t.strides_[a] = strides_[a] * static_cast<std::ptrdiff_t>(step);
    return t;
  }

  /// A view with dimensions `a` and `b` swapped (scalar types only).
  [[nodiscard]] Tensor transpose(std::ptrdiff_t a = 0, std::ptrdiff_t b = 1) const
    requires kIsScalarType<D>
  {
    const std::size_t i = normalize_axis(a), j = normalize_axis(b);
    Tensor t = *this;
    std::swap(t.shape_[i], t.shape_[j]);
    std::swap(t.strides_[i], t.strides_[j]);
    return t;
  }

  /// A deep, contiguous copy.
  [[nodiscard]] Tensor clone() const {
    Tensor out = empty(shape_);
    copy_into(out);
    return out;
  }

  /// This tensor if already contiguous, otherwise a contiguous copy.
  [[nodiscard]] Tensor contiguous() const { return is_contiguous() ? *this : clone(); }

  /// Copies every element into `dst`, which must have the same shape.
  /// @throws ShapeError if the shapes differ.
  void copy_into(const Tensor& dst) const {
    if (dst.shape_ != shape_)
      throw ShapeError("copy: destination shape " + to_string(dst.shape_) + " differs from source shape " +
                       to_string(shape_));
    if (numel() == 0) return;
    if (is_contiguous() && dst.is_contiguous()) {
      std::memmove(static_cast<void*>(dst.data_), data_, nbytes());
      return;
    }
    copy_strided(0, data_, dst.data_, dst);
  }

  /// Normalises a possibly negative axis index.
  /// @throws ShapeError if the axis is out of range.
  [[nodiscard]] std::size_t normalize_axis(std::ptrdiff_t axis) const {
    const auto r = static_cast<std::ptrdiff_t>(rank());
    const std::ptrdiff_t a = axis < 0 ? axis + r : axis;
    if (a < 0 || a >= r)
      throw ShapeError("axis " + std::to_string(axis) + " is out of range for a tensor of shape " + to_string(shape_));
    return static_cast<std::size_t>(a);
  }

  /// Row-major strides (in storage units) of a dense tensor of `shape`.
  [[nodiscard]] static Strides contiguous_strides(const Shape& shape) {
    Strides s;
    for (std::size_t i = 0; i < shape.rank(); ++i) s.push_back(1);
    std::ptrdiff_t acc = 1;
    for (std::size_t i = shape.rank(); i-- > 0;) {
      s[i] = acc;
      const std::size_t units = (i + 1 == shape.rank()) ? shape[i] / D::kBlockSize : shape[i];
      acc *= static_cast<std::ptrdiff_t>(units);
    }
    if (shape.rank() && kIsBlockType<D>) s[shape.rank() - 1] = 1;
    return s;
  }

  /// Storage units a dense tensor of `shape` needs.
  [[nodiscard]] static std::size_t storage_units(const Shape& shape) noexcept {
    return llmforge::numel(shape) / D::kBlockSize;
  }

  /// Low-level constructor used by views and adapters; prefer the tagged constructors.
  Tensor(std::shared_ptr<void> owner, storage_type* data, const Shape& shape, const Strides& strides)
      : owner_(std::move(owner)), data_(data), shape_(shape), strides_(strides), is_empty_(false) {
    check_block_shape(shape);
  }

 private:
  Tensor(std::shared_ptr<void> owner, storage_type* data, const Shape& shape)
      : Tensor(std::move(owner), data, shape, contiguous_strides(shape)) {}

  static void check_block_shape(const Shape& shape) {
    if constexpr (kIsBlockType<D>) {
      if (shape.rank() == 0 || shape.back() % D::kBlockSize != 0)
        throw ShapeError("a " + std::string(D::kName) + " tensor needs a last dimension that is a multiple of " +
                         std::to_string(D::kBlockSize) + ", got shape " + to_string(shape));
    }
  }

  void copy_strided(std::size_t axis, const storage_type* src, storage_type* dst, const Tensor& d) const {
    if (axis + 1 == rank()) {
      if constexpr (kIsBlockType<D>) {
        std::memmove(static_cast<void*>(dst), src, shape_[axis] / D::kBlockSize * sizeof(storage_type));
      } else {
        for (std::size_t i = 0; i < shape_[axis]; ++i)
          dst[static_cast<std::ptrdiff_t>(i) * d.strides_[axis]] = src[static_cast<std::ptrdiff_t>(i) * strides_[axis]];
      }
      return;
    }
    for (std::size_t i = 0; i < shape_[axis]; ++i)
      copy_strided(axis + 1, src + static_cast<std::ptrdiff_t>(i) * strides_[axis],
                   dst + static_cast<std::ptrdiff_t>(i) * d.strides_[axis], d);
  }

  std::shared_ptr<void> owner_;
  storage_type* data_ = nullptr;
  Shape shape_;
  Strides strides_;
  bool is_empty_ = true;
};

}  // namespace llmforge
