// SPDX-License-Identifier: MIT
// Joining, splitting and indexing tensors: concat, stack, split, top-k, gather (take_along_axis), embedding lookup.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <llmforge/tensor/detail.hpp>
#include <llmforge/tensor/tensor.hpp>

namespace llmforge {

/// Joins `parts` along `axis` into `out`; all parts agree on every other dimension.
/// @throws ShapeError naming the first mismatching shape, or if `out` has the wrong shape or `parts` is empty.
template <class D, class B>
void concat(std::span<const Tensor<D, B>> parts, std::ptrdiff_t axis, const Tensor<D, B>& out) {
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  if (parts.empty()) throw ShapeError("concat: needs at least one tensor");
  const std::size_t a = parts[0].normalize_axis(axis);
  Shape want = parts[0].shape();
  want[a] = 0;
  for (const auto& p : parts) {
    bool ok = p.rank() == want.rank();
    for (std::size_t i = 0; ok && i < want.rank(); ++i) ok = i == a || p.shape()[i] == want[i];
    if (!ok)
      throw ShapeError("concat: shape " + to_string(p.shape()) + " does not match shape " + to_string(parts[0].shape()) +
                       " outside axis " + std::to_string(a));
    want[a] += p.shape()[a];
  }
  detail::check_out_shape(out.shape(), want, "concat");
  std::size_t at = 0;
  for (const auto& p : parts) {
    p.copy_into(out.slice(static_cast<std::ptrdiff_t>(a), at, at + p.shape()[a]));
    at += p.shape()[a];
  }
}
/// Joins `parts` along `axis` into a new tensor.
/// @throws ShapeError as the `out` form.
template <class D, class B>
[[nodiscard]] Tensor<D, B> concat(std::span<const Tensor<D, B>> parts, std::ptrdiff_t axis) {
  if (parts.empty()) throw ShapeError("concat: needs at least one tensor");
  Shape want = parts[0].shape();
  const std::size_t a = parts[0].normalize_axis(axis);
  want[a] = 0;
  for (const auto& p : parts) want[a] += p.rank() == want.rank() ? p.shape()[a] : 0;
  auto out = Tensor<D, B>::empty(want);
  concat(parts, axis, out);
  return out;
}
/// Joins tensors along `axis` (initializer-list form: `concat({a, b}, 0)`).
template <class D, class B>
[[nodiscard]] Tensor<D, B> concat(std::initializer_list<Tensor<D, B>> parts, std::ptrdiff_t axis) {
  return concat(std::span<const Tensor<D, B>>(parts.begin(), parts.size()), axis);
}

/// Stacks equally shaped tensors along a new dimension `axis` (NumPy stack).
/// @throws ShapeError if the shapes differ or `parts` is empty.
template <class D, class B>
[[nodiscard]] Tensor<D, B> stack(std::span<const Tensor<D, B>> parts, std::ptrdiff_t axis = 0) {
  if (parts.empty()) throw ShapeError("stack: needs at least one tensor");
  for (const auto& p : parts)
    if (p.shape() != parts[0].shape())
      throw ShapeError("stack: shape " + to_string(p.shape()) + " differs from shape " + to_string(parts[0].shape()));
  Shape want = parts[0].shape();
  const auto r = static_cast<std::ptrdiff_t>(want.rank());
  const std::ptrdiff_t a = axis < 0 ? axis + r + 1 : axis;
  if (a < 0 || a > r)
    throw ShapeError("stack: axis " + std::to_string(axis) + " is out of range for shape " + to_string(want));
  want.insert(static_cast<std::size_t>(a), parts.size());
  auto out = Tensor<D, B>::empty(want);
  for (std::size_t i = 0; i < parts.size(); ++i) parts[i].copy_into(out.slice(a, i, i + 1).squeeze(a));
  return out;
}
/// Stacks tensors along a new dimension (initializer-list form).
template <class D, class B>
[[nodiscard]] Tensor<D, B> stack(std::initializer_list<Tensor<D, B>> parts, std::ptrdiff_t axis = 0) {
  return stack(std::span<const Tensor<D, B>>(parts.begin(), parts.size()), axis);
}

/// Views of consecutive pieces of `x` along `axis` with the given extents (no copies).
/// @throws ShapeError if the sizes do not add up to the extent of `axis`.
template <class D, class B>
[[nodiscard]] std::vector<Tensor<D, B>> split(const Tensor<D, B>& x, std::span<const std::size_t> sizes,
                                              std::ptrdiff_t axis = 0) {
  const std::size_t a = x.normalize_axis(axis);
  std::size_t total = 0;
  for (auto s : sizes) total += s;
  if (total != x.shape()[a])
    throw ShapeError("split: sizes add up to " + std::to_string(total) + " but dimension " + std::to_string(a) +
                     " of shape " + to_string(x.shape()) + " is " + std::to_string(x.shape()[a]));
  std::vector<Tensor<D, B>> out;
  std::size_t at = 0;
  for (auto s : sizes) {
    out.push_back(x.slice(static_cast<std::ptrdiff_t>(a), at, at + s));
    at += s;
  }
  return out;
}
/// Splits `x` along `axis` into `sections` equal views.
/// @throws ShapeError if the extent is not divisible by `sections`.
template <class D, class B>
[[nodiscard]] std::vector<Tensor<D, B>> split(const Tensor<D, B>& x, std::size_t sections, std::ptrdiff_t axis = 0) {
  const std::size_t a = x.normalize_axis(axis);
  if (sections == 0 || x.shape()[a] % sections != 0)
    throw ShapeError("split: dimension " + std::to_string(a) + " of shape " + to_string(x.shape()) +
                     " cannot be split into " + std::to_string(sections) + " equal parts");
  const std::vector<std::size_t> sizes(sections, x.shape()[a] / sections);
  return split(x, std::span<const std::size_t>(sizes), axis);
}

/// The `k` largest values along `axis` in descending order, and their indices (ties: lower index first).
/// @throws ShapeError if `k` exceeds the extent of `axis`.
template <class D, class B>
[[nodiscard]] std::pair<Tensor<D, B>, Tensor<I32, B>> topk(const Tensor<D, B>& x, std::size_t k, std::ptrdiff_t axis = -1) {
  static_assert(detail::CpuOperand<Tensor<D, B>, true>::value);
  if (x.rank() == 0) throw ShapeError("topk: needs at least one dimension, got a scalar");
  const std::size_t a = x.normalize_axis(axis);
  const std::size_t n = x.shape()[a];
  if (k > n)
    throw ShapeError("topk: k = " + std::to_string(k) + " exceeds dimension " + std::to_string(a) + " of shape " +
                     to_string(x.shape()));
  Shape oshape = x.shape();
  oshape[a] = k;
  auto values = Tensor<D, B>::empty(oshape);
  auto indices = Tensor<I32, B>::empty(oshape);
  Extents<std::ptrdiff_t> order;
  for (std::size_t i = 0; i < x.rank(); ++i)
    if (i != a) order.push_back(static_cast<std::ptrdiff_t>(i));
  order.push_back(static_cast<std::ptrdiff_t>(a));
  const std::span<const std::ptrdiff_t> ord(order.begin(), order.size());
  const auto xv = x.permute(ord);
  const auto vv = values.permute(ord);
  const auto iv = indices.permute(ord);
  std::vector<std::pair<float, int32_t>> row(n);
  Shape outer;
  for (std::size_t i = 0; i + 1 < xv.rank(); ++i) outer.push_back(xv.shape()[i]);
  if (numel(outer) == 0 || k == 0) return {values, indices};
  std::array<std::size_t, kMaxRank> oi{};
  Strides xs, vs, is;
  for (std::size_t i = 0; i + 1 < xv.rank(); ++i) {
    xs.push_back(xv.strides()[i]);
    vs.push_back(vv.strides()[i]);
    is.push_back(iv.strides()[i]);
  }
  do {
    const auto* px = xv.data() + detail::offset_of(oi, xs);
    for (std::size_t i = 0; i < n; ++i)
      row[i] = {detail::to_float(px[static_cast<std::ptrdiff_t>(i) * xv.stride(-1)]), static_cast<int32_t>(i)};
    std::partial_sort(row.begin(), row.begin() + static_cast<std::ptrdiff_t>(k), row.end(), [](const auto& p, const auto& q) {
      const bool pn = p.first != p.first, qn = q.first != q.first;  // NaN sorts first, as in torch.topk
      if (pn != qn) return pn;
      if (p.first != q.first) return p.first > q.first;
      return p.second < q.second;
    });
    auto* pv = vv.data() + detail::offset_of(oi, vs);
    auto* pi = iv.data() + detail::offset_of(oi, is);
    for (std::size_t i = 0; i < k; ++i) {
      pv[static_cast<std::ptrdiff_t>(i) * vv.stride(-1)] = px[static_cast<std::ptrdiff_t>(row[i].second) * xv.stride(-1)];
      pi[static_cast<std::ptrdiff_t>(i) * iv.stride(-1)] = row[i].second;
    }
  } while (detail::next_index(oi, outer));
  return {values, indices};
}

/// `out[..., i, ...] = x[..., index[..., i, ...], ...]` along `axis` (NumPy take_along_axis / torch.gather):
/// `index` has the rank of `x` and matches it outside `axis`; negative indices count from the end.
/// @throws ShapeError if an index is out of range (naming it and the shape) or the shapes do not fit.
template <class D, class B, class BI>
[[nodiscard]] Tensor<D, B> gather(const Tensor<D, B>& x, std::ptrdiff_t axis, const Tensor<I32, BI>& index) {
  static_assert(std::is_same_v<B, BI>, "llmforge: gather(): the index tensor lives on a different Backend than the values");
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  const std::size_t a = x.normalize_axis(axis);
  bool ok = index.rank() == x.rank();
  for (std::size_t i = 0; ok && i < x.rank(); ++i) ok = i == a || index.shape()[i] == x.shape()[i];
  if (!ok)
    throw ShapeError("gather: index shape " + to_string(index.shape()) + " does not fit value shape " +
                     to_string(x.shape()) + " outside axis " + std::to_string(a));
  auto out = Tensor<D, B>::empty(index.shape());
  if (out.numel() == 0) return out;
  const auto n = static_cast<std::ptrdiff_t>(x.shape()[a]);
  std::array<std::size_t, kMaxRank> idx{};
  do {
    std::ptrdiff_t j = index.data()[detail::offset_of(idx, index.strides())];
    if (j < -n || j >= n)
      throw ShapeError("gather: index " + std::to_string(j) + " is out of range for dimension " + std::to_string(a) +
                       " of shape " + to_string(x.shape()));
    if (j < 0) j += n;
    auto src = idx;
    src[a] = static_cast<std::size_t>(j);
    out.data()[detail::offset_of(idx, out.strides())] = x.data()[detail::offset_of(src, x.strides())];
  } while (detail::next_index(idx, index.shape()));
  return out;
}

/// Embedding lookup into `out`: row `ids[...]` of `table` `[vocab, dim]` for every id; `out` is `[ids..., dim]`.
/// @throws ShapeError naming the id and the table shape if an id is outside `[0, vocab)`, or if `out` has the wrong shape.
template <class D, class B, class BI>
void embedding(const Tensor<D, B>& table, const Tensor<I32, BI>& ids, const Tensor<D, B>& out) {
  static_assert(std::is_same_v<B, BI>, "llmforge: embedding(): the id tensor lives on a different Backend than the table");
  static_assert(detail::CpuOperand<Tensor<D, B>, false>::value);
  if (table.rank() != 2) throw ShapeError("embedding: table must be 2-D [vocab, dim], got " + to_string(table.shape()));
  Shape want = ids.shape();
  want.push_back(table.dim(1));
  detail::check_out_shape(out.shape(), want, "embedding");
  if (ids.numel() == 0) return;
  std::array<std::size_t, kMaxRank> idx{};
  do {
    const int32_t id = ids.data()[detail::offset_of(idx, ids.strides())];
    if (id < 0 || static_cast<std::size_t>(id) >= table.dim(0))
      throw ShapeError("embedding: id " + std::to_string(id) + " is out of range for table shape " +
                       to_string(table.shape()));
    Tensor<D, B> dst = out;
    for (std::size_t i = 0; i < ids.rank(); ++i) dst = dst.slice(0, idx[i], idx[i] + 1).squeeze(0);
    table.slice(0, static_cast<std::size_t>(id), static_cast<std::size_t>(id) + 1).squeeze(0).copy_into(dst);
  } while (detail::next_index(idx, ids.shape()));
}
/// Embedding lookup into a new tensor `[ids..., dim]`.
/// @throws ShapeError if an id is out of range.
template <class D, class B, class BI>
[[nodiscard]] Tensor<D, B> embedding(const Tensor<D, B>& table, const Tensor<I32, BI>& ids) {
  if (table.rank() != 2) throw ShapeError("embedding: table must be 2-D [vocab, dim], got " + to_string(table.shape()));
  Shape want = ids.shape();
  want.push_back(table.dim(1));
  auto out = Tensor<D, B>::empty(want);
  embedding(table, ids, out);
  return out;
}

}  // namespace llmforge
