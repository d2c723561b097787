// SPDX-License-Identifier: MIT
// Tensor creation, ownership and zero-copy views (reshape/permute/slice/squeeze/broadcast) and their errors.
#include <boost/test/unit_test.hpp>

#include <memory>
#include <string>
#include <vector>

#include <llmforge/tensor.hpp>

namespace lf = llmforge;
using lf::F32;
using lf::Shape;
using lf::ShapeError;

namespace {
bool throws_with(auto&& fn, std::initializer_list<const char*> parts) {
  try {
    fn();
  } catch (const ShapeError& e) {
    const std::string m = e.what();
    for (const char* p : parts)
      if (m.find(p) == std::string::npos) {
        BOOST_TEST_MESSAGE("message lacks '" << p << "': " << m);
        return false;
      }
    return true;
  }
  return false;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(tensor)

BOOST_AUTO_TEST_CASE(creation_functions_fill_as_numpy_does) {
  const auto z = lf::zeros<F32>(Shape{2, 3});
  const auto o = lf::ones<lf::F16>(Shape{4});
  const auto f = lf::full<lf::BF16>(Shape{2}, 2.5);
  BOOST_TEST(z.numel() == 6u);
  for (std::size_t i = 0; i < 6; ++i) BOOST_TEST(z.data()[i] == 0.0f);
  for (std::size_t i = 0; i < 4; ++i) BOOST_TEST(lf::f16_to_f32(o.data()[i]) == 1.0f);
  BOOST_TEST(lf::bf16_to_f32(f.at(1)) == 2.5f);
  // np.arange(1, 2, 0.25) -> [1, 1.25, 1.5, 1.75]; np.arange(5, 0, -2) -> [5, 3, 1]; np.arange(3, 3) is empty
  const auto r = lf::arange<F32>(1, 2, 0.25);
  BOOST_TEST(lf::to_string(r.shape()) == "[4]");
  BOOST_TEST(r.at(3) == 1.75f);
  const auto d = lf::arange<lf::I32>(5, 0, -2);
  BOOST_TEST(lf::to_string(d.shape()) == "[3]");
  BOOST_TEST(d.at(2) == 1);
  BOOST_TEST(lf::arange<F32>(3, 3).numel() == 0u);
  BOOST_CHECK_THROW((void)lf::arange<F32>(0, 1, 0), ShapeError);
  const auto v = lf::from_values<F32>({1, 2, 3, 4, 5, 6}, {2, 3});
  BOOST_TEST(v.at(1, 2) == 6.0f);
  const std::vector<int> ints{7, 8};
  BOOST_TEST(lf::from_values<lf::I32>(std::span<const int>(ints)).at(1) == 8);
  BOOST_CHECK_THROW((void)lf::from_values<F32>({1, 2, 3}, {2, 2}), ShapeError);
}

BOOST_AUTO_TEST_CASE(seeded_random_tensors_are_reproducible_and_have_the_right_moments) {
  const auto a = lf::randn<F32>(Shape{100, 100}, 42), b = lf::randn<F32>(Shape{100, 100}, 42);
  const auto c = lf::randn<F32>(Shape{100, 100}, 43);
  BOOST_TEST(std::memcmp(a.data(), b.data(), a.nbytes()) == 0);
  BOOST_TEST(std::memcmp(a.data(), c.data(), a.nbytes()) != 0);
  BOOST_TEST(std::fabs(lf::mean(a).at()) < 0.03);                 // 4 sigma of the mean of 1e4 normals
  BOOST_TEST(std::fabs(lf::var(a).at() - 1.0f) < 0.06);
  const auto u = lf::rand<F32>(Shape{10000}, 1, -2, 2);
  BOOST_TEST(lf::min(u).at() >= -2.0f);
  BOOST_TEST(lf::max(u).at() < 2.0f);
  BOOST_TEST(std::fabs(lf::mean(u).at()) < 0.05);
}

BOOST_AUTO_TEST_CASE(borrow_and_adopt_control_ownership) {
  std::vector<float> mem{1, 2, 3, 4, 5, 6};
  const lf::Tensor<F32> borrowed(lf::kBorrow, mem.data(), Shape{2, 3});
  BOOST_TEST(!borrowed.owner());
  mem[4] = 50;
  BOOST_TEST(borrowed.at(1, 1) == 50.0f);
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{9, 8, 7});
  lf::Tensor<F32> adopted(lf::kAdopt, owner, owner->data(), Shape{3});
  std::weak_ptr<std::vector<float>> weak = owner;
  owner.reset();
  BOOST_TEST(!weak.expired());  // the tensor keeps the memory alive
  const auto view = adopted.slice(0, 1, 3);
  adopted = lf::Tensor<F32>();
  BOOST_TEST(!weak.expired());  // so does a view of it
  BOOST_TEST(view.at(1) == 7.0f);
}

BOOST_AUTO_TEST_CASE(views_share_storage_and_contiguous_copies_only_when_needed) {
  auto t = lf::arange<F32>(24).reshape({2, 3, 4});
  const auto r = t.reshape({lf::kInfer, 4});
  BOOST_TEST(lf::to_string(r.shape()) == "[6, 4]");
  BOOST_TEST(r.data() == t.data());
  BOOST_TEST(t.contiguous().data() == t.data());  // no copy when already contiguous
  const auto p = t.permute({2, 0, 1});
  BOOST_TEST(lf::to_string(p.shape()) == "[4, 2, 3]");
  BOOST_TEST(p.at(3, 1, 2) == t.at(1, 2, 3));
  BOOST_TEST(!p.is_contiguous());
  const auto pc = p.contiguous();
  BOOST_TEST(pc.data() != t.data());
  BOOST_TEST(pc.at(3, 1, 2) == 23.0f);
  const auto s = t.slice(2, 0, 4, 3);  // columns 0 and 3
  BOOST_TEST(lf::to_string(s.shape()) == "[2, 3, 2]");
  BOOST_TEST(s.at(1, 1, 1) == 19.0f);
  const auto n = t.narrow(1, 1, 2);
  BOOST_TEST(n.at(0, 0, 0) == 4.0f);
  const auto u = t.unsqueeze(0).unsqueeze(-1);
  BOOST_TEST(lf::to_string(u.shape()) == "[1, 2, 3, 4, 1]");
  BOOST_TEST(lf::to_string(u.squeeze().shape()) == "[2, 3, 4]");
  BOOST_TEST(lf::to_string(u.squeeze(0).shape()) == "[2, 3, 4, 1]");
  const auto b = lf::arange<F32>(4).broadcast_to(Shape{3, 4});
  BOOST_TEST(b.stride(0) == 0);
  BOOST_TEST(b.at(2, 3) == 3.0f);
  const auto e = lf::arange<F32>(3).reshape({3, 1}).expand(Shape{2, 3, 5});
  BOOST_TEST(e.at(1, 2, 4) == 2.0f);
  t.slice(0, 1, 2).fill(-1.0f);  // writes through a view
  BOOST_TEST(t.at(1, 0, 0) == -1.0f);
  BOOST_TEST(t.at(0, 2, 3) == 11.0f);
}

BOOST_AUTO_TEST_CASE(bad_view_requests_throw_shape_errors_naming_the_shapes) {
  const auto t = lf::zeros<F32>(Shape{2, 3, 4});
  BOOST_TEST(throws_with([&] { (void)t.reshape({5, 5}); }, {"[2, 3, 4]", "[5, 5]"}));
  BOOST_TEST(throws_with([&] { (void)t.reshape({lf::kInfer, 5}); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.reshape({lf::kInfer, lf::kInfer}); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.permute({0, 0, 1}); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.slice(1, 2, 4); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.squeeze(0); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.unsqueeze(5); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.broadcast_to(Shape{2, 5, 4}); }, {"[2, 3, 4]", "[2, 5, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.transpose().reshape({24}); }, {"not contiguous"}));
  BOOST_TEST(throws_with([&] { (void)t.at(2, 0, 0); }, {"[2, 3, 4]"}));
  BOOST_TEST(throws_with([&] { (void)t.dim(3); }, {"[2, 3, 4]"}));
}

BOOST_AUTO_TEST_CASE(size_zero_tensors_work_through_views_and_ops) {
  const auto z = lf::zeros<F32>(Shape{0, 4});
  BOOST_TEST(z.numel() == 0u);
  BOOST_TEST(lf::add(z, lf::ones<F32>(Shape{4})).numel() == 0u);
  BOOST_TEST(lf::to_string(z.reshape({lf::kInfer, 2}).shape()) == "[0, 2]");
  BOOST_TEST(lf::to_string(lf::matmul(z, lf::ones<F32>(Shape{4, 3})).shape()) == "[0, 3]");
  BOOST_TEST(lf::softmax(z).numel() == 0u);
  BOOST_TEST(lf::to_string(lf::concat({z, z}, 0).shape()) == "[0, 4]");
}

BOOST_AUTO_TEST_SUITE_END()
