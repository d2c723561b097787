// SPDX-License-Identifier: MIT
// Tests for generation/stop_string_filter.hpp: stop strings split across pushes, hold-back, release.
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include <llmforge/generation/stop_string_filter.hpp>

namespace lf = llmforge;

BOOST_AUTO_TEST_SUITE(stop_string_filter)

BOOST_AUTO_TEST_CASE(holds_back_only_bytes_that_might_start_a_stop_string) {
  lf::StopStringFilter f({"END"});
  std::string out;
  BOOST_TEST(!f.push("abcE", out));
  BOOST_TEST(out == "abc");  // "E" might start "END"
  BOOST_TEST(f.held() == 1u);
  BOOST_TEST(!f.push("N", out));
  BOOST_TEST(f.held() == 2u);
  BOOST_TEST(!f.push("x", out));  // "ENx" is not a stop: all of it goes out
  BOOST_TEST(out == "abcENx");
  BOOST_TEST(f.held() == 0u);
}

BOOST_AUTO_TEST_CASE(finds_a_stop_string_split_over_many_pushes_and_drops_what_follows) {
  lf::StopStringFilter f({"<stop>"});
  std::string out;
  for (const char* p : {"hello <", "s", "to", "p> and more"}) {
    if (f.push(p, out)) break;
  }
  BOOST_TEST(f.stopped());
  BOOST_TEST(out == "hello ");
  BOOST_TEST(f.matched() == "<stop>");
  BOOST_TEST(f.push("later", out));  // nothing more after a stop
  f.finish(out);
  BOOST_TEST(out == "hello ");
}

BOOST_AUTO_TEST_CASE(the_earliest_of_several_stop_strings_wins) {
  lf::StopStringFilter f({"world", "lo w"});
  std::string out;
  BOOST_TEST(f.push("hello world", out));
  BOOST_TEST(out == "hel");
  BOOST_TEST(f.matched() == "lo w");
}

BOOST_AUTO_TEST_CASE(a_false_start_inside_the_hold_back_is_still_found_later) {
  // "aab" against stop "ab": after "a" and "a" the filter holds one "a", then "b" completes the stop.
  lf::StopStringFilter f({"ab"});
  std::string out;
  BOOST_TEST(!f.push("a", out));
  BOOST_TEST(!f.push("a", out));
  BOOST_TEST(out == "a");
  BOOST_TEST(f.push("b", out));
  BOOST_TEST(out == "a");
}

BOOST_AUTO_TEST_CASE(finish_releases_held_bytes_and_empty_stops_are_ignored) {
  lf::StopStringFilter f({"", "xyz"});
  std::string out;
  BOOST_TEST(!f.push("abx", out));
  BOOST_TEST(out == "ab");
  f.finish(out);
  BOOST_TEST(out == "abx");
  lf::StopStringFilter none;
  std::string all;
  BOOST_TEST(!none.push("anything", all));
  BOOST_TEST(all == "anything");
}

BOOST_AUTO_TEST_CASE(utf8_stop_strings_hold_back_whole_characters) {
  // Stop "é!" (C3 A9 21): after "café" the whole "é" is held, never half of it.
  lf::StopStringFilter f({"\xC3\xA9!"});
  std::string out;
  BOOST_TEST(!f.push("caf\xC3\xA9", out));
  BOOST_TEST(out == "caf");
  BOOST_TEST(f.held() == 2u);
  BOOST_TEST(f.push("!", out));
  BOOST_TEST(out == "caf");
}

BOOST_AUTO_TEST_SUITE_END()
