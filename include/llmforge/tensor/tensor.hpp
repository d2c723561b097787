// SPDX-License-Identifier: MIT
// Tensor<DType, Backend>: typed, strided, shared-storage N-dimensional array and its views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <span>
#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <llmforge/backend/cpu.hpp>
#include <llmforge/core/dtype.hpp>
#include <llmforge/core/error.hpp>
#include <llmforge/tensor/shape.hpp>

namespace llmforge {

/// Boolean elements (one byte each, 0 or 1): results of comparisons, masks for `where`/`masked_fill`.
struct Bool {
  using storage_type = uint8_t;
  static constexpr std::size_t kBlockSize = 1;
  static constexpr GgmlType kGgmlType = GgmlType::I8;
  static constexpr std::string_view kName = "Bool";
};

/// Extent placeholder for `Tensor::reshape`: this dimension is computed from the element count.
inline constexpr std::size_t kInfer = static_cast<std::size_t>(-1);

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
template <class D, class B = Cpu>
class Tensor {
  static_assert(DType<D>,
                "llmforge::Tensor<D, B>: D must be a DType tag (F32, F16, BF16, I32, Bool or a quantized block tag "
                "such as Q4_0), not a plain C++ type like float - see core/dtype.hpp");
  static_assert(Backend<B>, "llmforge::Tensor<D, B>: B must be a Backend tag such as llmforge::Cpu - see backend/cpu.hpp");

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
  [[nodiscard]] storage_type& at(I... idx) const {
    static_assert(kIsScalarType<D>,
                  "llmforge::Tensor::at(): element access needs a scalar DType; a quantized block tensor has no "
                  "addressable elements - dequantize it to F32 first");
    static_assert((std::is_integral_v<I> && ...), "llmforge::Tensor::at(): indices must be integers");
    const std::size_t ids[] = {static_cast<std::size_t>(idx)..., 0};
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
  /// One extent may be `kInfer` (-1 as size_t), computed from the element count as in NumPy.
  /// @throws ShapeError if the element counts differ or the tensor is not contiguous.
  [[nodiscard]] Tensor reshape(const Shape& requested) const {
    const Shape shape = infer_shape(requested);
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

  /// A view with the dimensions reordered: dimension `i` of the result is dimension `order[i]` of this.
  /// @throws ShapeError if `order` is not a permutation of `0 .. rank()-1`.
  [[nodiscard]] Tensor permute(std::span<const std::ptrdiff_t> order) const
    requires kIsScalarType<D>
  {
    if (order.size() != rank())
      throw ShapeError("permute: " + std::to_string(order.size()) + " axes given for a tensor of shape " +
                       to_string(shape_));
    bool seen[kMaxRank] = {};
    Tensor t = *this;
    for (std::size_t i = 0; i < order.size(); ++i) {
      const std::size_t a = normalize_axis(order[i]);
      if (seen[a]) throw ShapeError("permute: axis " + std::to_string(a) + " repeated for shape " + to_string(shape_));
      seen[a] = true;
      t.shape_[i] = shape_[a];
      t.strides_[i] = strides_[a];
    }
    return t;
  }
  [[nodiscard]] Tensor permute(std::initializer_list<std::ptrdiff_t> order) const
    requires kIsScalarType<D>
  {
    return permute(std::span<const std::ptrdiff_t>(order.begin(), order.size()));
  }

  /// A view of `length` elements of dimension `axis` starting at `start` (PyTorch's narrow).
  /// @throws ShapeError if the range does not fit.
  [[nodiscard]] Tensor narrow(std::ptrdiff_t axis, std::size_t start, std::size_t length) const {
    const std::size_t a = normalize_axis(axis);
    if (start > shape_[a] || length > shape_[a] - start)
      throw ShapeError("narrow: [" + std::to_string(start) + ", " + std::to_string(start) + "+" + std::to_string(length) +
                       ") is outside dimension " + std::to_string(a) + " of shape " + to_string(shape_));
    return slice(axis, start, start + length);
  }

  /// A view without dimension `axis`, which must have extent 1.
  /// @throws ShapeError if that extent is not 1.
  [[nodiscard]] Tensor squeeze(std::ptrdiff_t axis) const {
    const std::size_t a = normalize_axis(axis);
    if (shape_[a] != 1)
      throw ShapeError("squeeze: dimension " + std::to_string(a) + " of shape " + to_string(shape_) + " is not 1");
    if (kIsBlockType<D> && a + 1 == rank())
      throw ShapeError("squeeze: cannot remove the block dimension of a " + std::string(D::kName) + " tensor");
    Tensor t = *this;
    t.shape_.erase(a);
    t.strides_.erase(a);
    return t;
  }
  /// A view without any extent-1 dimensions.
  [[nodiscard]] Tensor squeeze() const
    requires kIsScalarType<D>
  {
    Tensor t = *this;
    for (std::size_t i = rank(); i-- > 0;)
      if (t.shape_[i] == 1) {
        t.shape_.erase(i);
        t.strides_.erase(i);
      }
    return t;
  }
  /// A view with a new extent-1 dimension inserted at position `axis` (`-1` appends).
  /// @throws ShapeError if `axis` is outside `[-rank()-1, rank()]`.
  [[nodiscard]] Tensor unsqueeze(std::ptrdiff_t axis) const
    requires kIsScalarType<D>
  {
    const auto r = static_cast<std::ptrdiff_t>(rank());
    const std::ptrdiff_t a = axis < 0 ? axis + r + 1 : axis;
    if (a < 0 || a > r)
      throw ShapeError("unsqueeze: axis " + std::to_string(axis) + " is out of range for shape " + to_string(shape_));
    Tensor t = *this;
    const auto pos = static_cast<std::size_t>(a);
    const std::ptrdiff_t st = pos < rank() ? strides_[pos] * static_cast<std::ptrdiff_t>(shape_[pos]) : 1;
    t.shape_.insert(pos, 1);
    t.strides_.insert(pos, st);
    return t;
  }

  /// A read view repeated along new or extent-1 dimensions with stride 0 (NumPy broadcast_to);
  /// no memory is copied. Writing through such a view writes the shared element.
  /// @throws ShapeError naming both shapes if this shape cannot broadcast to `target`.
  [[nodiscard]] Tensor broadcast_to(const Shape& target) const
    requires kIsScalarType<D>
  {
    if (target.rank() < rank())
      throw ShapeError("broadcast_to: cannot broadcast shape " + to_string(shape_) + " to " + to_string(target));
    Tensor t = *this;
    t.shape_ = target;
    t.strides_ = Strides{};
    const std::size_t lead = target.rank() - rank();
    for (std::size_t i = 0; i < target.rank(); ++i) {
      if (i < lead) {
        t.strides_.push_back(0);
        continue;
      }
      const std::size_t src = shape_[i - lead];
      if (src == target[i]) {
        t.strides_.push_back(strides_[i - lead]);
      } else if (src == 1) {
        t.strides_.push_back(0);
      } else {
        throw ShapeError("broadcast_to: cannot broadcast shape " + to_string(shape_) + " to " + to_string(target) +
                         " (dimension " + std::to_string(i) + ": " + std::to_string(src) + " vs " +
                         std::to_string(target[i]) + ")");
      }
    }
    return t;
  }
  /// Same as `broadcast_to` (PyTorch's name).
  [[nodiscard]] Tensor expand(const Shape& target) const
    requires kIsScalarType<D>
  {
    return broadcast_to(target);
  }

  /// Sets every element to `value`.
  void fill(storage_type value) const
    requires kIsScalarType<D>
  {
    if (numel() == 0) return;
    if (is_contiguous()) {
      std::fill(data_, data_ + numel(), value);
      return;
    }
    fill_strided(value);
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

  [[nodiscard]] Shape infer_shape(const Shape& requested) const {
    std::size_t known = 1, unknown = requested.rank();
    for (std::size_t i = 0; i < requested.rank(); ++i) {
      if (requested[i] == kInfer) {
        if (unknown != requested.rank())
          throw ShapeError("reshape: only one dimension of the requested shape can be inferred (shape " +
                           to_string(shape_) + ")");
        unknown = i;
      } else {
        known *= requested[i];
      }
    }
    if (unknown == requested.rank()) return requested;
    Shape out = requested;
    if (known == 0 || numel() % known != 0)
      throw ShapeError("reshape: cannot view shape " + to_string(shape_) + " with " + std::to_string(numel()) +
                       " elements as a shape with one inferred dimension and " + std::to_string(known) +
                       " elements in the others");
    out[unknown] = numel() / known;
    return out;
  }

  void fill_strided(storage_type value) const {
    std::array<std::size_t, kMaxRank> idx{};
    for (;;) {
      std::ptrdiff_t off = 0;
      for (std::size_t i = 0; i < rank(); ++i) off += static_cast<std::ptrdiff_t>(idx[i]) * strides_[i];
      data_[off] = value;
      std::size_t d = rank();
      while (d > 0 && ++idx[d - 1] == shape_[d - 1]) idx[--d] = 0;
      if (d == 0) return;
    }
  }

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
