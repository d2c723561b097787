// SPDX-License-Identifier: MIT
// Keeps README.md's "Supported models" tables in step with the code: the architecture table must list
// exactly the registered architectures, and the type list exactly the weight types nn::AnyWeight holds.
#include <boost/test/unit_test.hpp>

#include <regex>
#include <set>
#include <string>
#include <variant>

#include <llmforge/models/registry.hpp>

#include "common/test_data.hpp"

namespace lf = llmforge;
namespace t = llmforge::test;

namespace {

std::string section(const std::string& text, const std::string& begin, const std::string& end) {
  const auto b = text.find(begin), e = text.find(end);
  BOOST_REQUIRE_MESSAGE(b != std::string::npos && e != std::string::npos && b < e, "README.md lacks the markers " << begin);
  return text.substr(b + begin.size(), e - b - begin.size());
}

template <std::size_t... I>
std::set<std::string> weight_type_names(std::index_sequence<I...>) {
  return {std::string(std::variant_alternative_t<I, lf::nn::WeightVariant>::dtype::kName)...};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(readme_tables)

BOOST_AUTO_TEST_CASE(architecture_table_lists_exactly_the_registered_architectures) {
  const std::string table = section(t::read_file(t::source_dir() / "README.md"), "<!-- arch-table-begin -->", "<!-- arch-table-end -->");
  std::set<std::string> documented;
  const std::regex row(R"(^\| `([a-z0-9_-]+)` \|)", std::regex::multiline);
  for (auto it = std::sregex_iterator(table.begin(), table.end(), row); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1].str());
  const auto names = lf::model_registry().names();
  const std::set<std::string> registered(names.begin(), names.end());
  BOOST_TEST(documented == registered, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(type_list_matches_the_weight_types_with_kernels) {
  const std::string list = section(t::read_file(t::source_dir() / "README.md"), "<!-- types-begin -->", "<!-- types-end -->");
  std::set<std::string> documented;
  const std::regex item("`([A-Z0-9_]+)`");
  for (auto it = std::sregex_iterator(list.begin(), list.end(), item); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1].str());
  const auto supported = weight_type_names(std::make_index_sequence<std::variant_size_v<lf::nn::WeightVariant>>{});
  BOOST_TEST(documented == supported, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
