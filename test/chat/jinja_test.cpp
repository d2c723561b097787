// SPDX-License-Identifier: MIT
// The Jinja engine feature by feature: data/features.json holds small templates with the output of
// Python's jinja2 (written by make_features.py, re-checked here when jinja2 is installed); plus the
// errors bad templates must raise (with line and column) and the limits that stop hostile input.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <llmforge/chat.hpp>

#include "oracle.hpp"

namespace fs = std::filesystem;
namespace lf = llmforge;
using lf::jinja::Template;
using lf::jinja::Value;

namespace {

nlohmann::ordered_json features() { return nlohmann::ordered_json::parse(lf::test::read_file(lf::test::chat_data_dir() / "features.json")); }

std::string render(const std::string& src, lf::jinja::Variables vars = {}) { return Template(src).render(vars); }

/// Checks that rendering (or parsing) `src` throws a TemplateError whose message contains `needle`.
void expect_error(const std::string& src, const std::string& needle) {
  BOOST_TEST_CONTEXT(src) {
    try {
      (void)render(src, {{"messages", Value::list({Value("a")})}});
      BOOST_ERROR("no exception");
    } catch (const lf::TemplateError& e) {
      BOOST_TEST(std::string(e.what()).find(needle) != std::string::npos, "message: " << e.what());
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(jinja)

BOOST_AUTO_TEST_CASE(features_render_like_python_jinja2) {
  const auto j = features();
  for (const auto& c : j["cases"]) {
    const std::string src = c["template"].get<std::string>();
    BOOST_TEST_CONTEXT(src) {
      lf::chat::ChatTemplate t(src);
      if (c.contains("raises")) {
        BOOST_CHECK_EXCEPTION((void)t.apply(j["messages"]), lf::TemplateRaisedError,
                              [&](const lf::TemplateRaisedError& e) { return e.what() == c["raises"].get<std::string>(); });
      } else {
        BOOST_TEST(t.apply(j["messages"]) == c["expected"].get<std::string>());
      }
    }
  }
}

// The expected texts in features.json are jinja2's; prove it still holds for the installed jinja2.
BOOST_AUTO_TEST_CASE(feature_expectations_come_from_python_jinja2, *boost::unit_test::precondition(lf::test::OracleAvailable{})) {
  const auto j = features();
  const fs::path dir = fs::temp_directory_path() / ("llmforge_features_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "messages.json") << j["messages"].dump();
  std::vector<lf::test::RenderCase> cases;
  for (std::size_t i = 0; i < j["cases"].size(); ++i) {
    const fs::path tpl = dir / (std::to_string(i) + ".jinja");
    std::ofstream(tpl, std::ios::binary) << j["cases"][i]["template"].get<std::string>();
    cases.push_back({tpl, dir / "messages.json"});
  }
  const auto py = lf::test::render_with_python(cases);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto& c = j["cases"][i];
    BOOST_TEST_CONTEXT(c["template"].get<std::string>()) {
      BOOST_TEST(py[i].ok == !c.contains("raises"), py[i].text);
      BOOST_TEST(py[i].text == (c.contains("raises") ? c["raises"] : c["expected"]).get<std::string>());
    }
  }
  fs::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(raise_exception_message_is_passed_through_exactly) {
  lf::chat::ChatTemplate t("{% if messages[0].role != 'user' %}{{ raise_exception('Only user roles: ' ~ messages[0].role) }}{% endif %}");
  BOOST_CHECK_EXCEPTION((void)t.apply(nlohmann::ordered_json::parse(R"([{"role":"tool","content":""}])")), lf::TemplateRaisedError,
                        [](const lf::TemplateRaisedError& e) { return std::string(e.what()) == "Only user roles: tool"; });
}

BOOST_AUTO_TEST_CASE(parse_errors_name_line_and_column) {
  expect_error("ok\n  {{ x ", "template:2:3: unterminated expression (missing '}}')");
  expect_error("{% if x %}\nA", "unexpected end of template; expected '{% endif %}'");
  expect_error("{% for x in y %}A", "expected '{% endfor %}'");
  expect_error("{{ 'abc }}", "template:1:4: unterminated string literal");
  expect_error("a\n{# never closed", "template:2:1: unterminated comment");
  expect_error("{% if x %}{% endfor %}", "template:1:11: unexpected '{% endfor %}' without a matching opening tag");
  expect_error("{% endif %}", "unexpected '{% endif %}' without a matching opening tag");
  expect_error("{% include 'x' %}", "unknown statement 'include'");
  expect_error("{{ 1 + }}", "template:1:8: unexpected end of expression '}}' in expression");
  expect_error("{{ a b }}", "expected end of expression '}}', found 'b'");
  expect_error("{{ x | no_such_filter }}", "template:1:8: no filter named 'no_such_filter'");
  expect_error("{{ x is no_such_test }}", "no test named 'no_such_test'");
  expect_error("{{ f(a=1, 2) }}", "positional argument follows keyword argument");
  expect_error("{{ 'a' @ 'b' }}", "unexpected character '@'");
}

BOOST_AUTO_TEST_CASE(render_errors_name_line_and_column) {
  expect_error("\n{{ missing.attr }}", "template:2:11: 'missing' is undefined");
  expect_error("{{ messages[0].nope.deeper }}", "'str object' has no attribute 'nope'");
  expect_error("{{ 1 + 'a' }}", "unsupported operand type(s) for +: 'int' and 'str'");
  expect_error("{{ 1 / 0 }}", "division by zero");
  expect_error("{% for a, b in [1] %}{% endfor %}", "'int' object is not iterable");
  expect_error("{% for a, b in [[1, 2, 3]] %}{% endfor %}", "too many values to unpack (expected 2, got 3)");
  expect_error("{{ messages.append(1) }}", "access to attribute 'append' of 'list' object is unsafe.");
  expect_error("{% set x = 1 %}{% set x.y = 2 %}", "cannot assign attribute 'y' on a non-namespace object");
  expect_error("{{ undefined_fn() }}", "'undefined_fn' is undefined");
  expect_error("{{ 'a'() }}", "'str' object is not callable");
  expect_error("{{ {'a': undefined_v} | tojson }}", "Object of type Undefined is not JSON serializable");
  expect_error("{{ none.x.y }}", "'None' has no attribute 'x'");
}

BOOST_AUTO_TEST_CASE(deep_nesting_is_rejected_not_a_crash) {
  expect_error("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}", "nests deeper than 200 levels");
  expect_error("{{ " + std::string(5000, '[') + std::string(5000, ']') + " }}", "nests deeper than 200 levels");
  expect_error("{{ " + std::string(5000, '-') + "1 }}", "nests deeper than 200 levels");
  std::string blocks;
  for (int i = 0; i < 1000; ++i) blocks += "{% if true %}";
  expect_error(blocks, "nests deeper than 200 levels");
  expect_error("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "macro 'f' nests deeper than 100 calls");
  expect_error("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns | tojson }}", "value nests deeper than 512 levels");
  expect_error("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns }}", "value nests deeper than 512 levels");
  expect_error("{% set ns = namespace() %}{% set ns.self = ns %}{{ ns == ns }}", "value nests deeper than 512 levels");
  expect_error("{% set ns = namespace(x=[]) %}{% for i in range(100000) %}{% set ns.x = [ns.x] %}{% endfor %}",
               "value nests deeper than 512 levels");
  expect_error("{% set ns = namespace(x=none) %}{% for i in range(100000) %}{% set ns.x = namespace(p=ns.x) %}{% endfor %}",
               "value nests deeper than 512 levels");
  const std::string deep_json = std::string(100000, '[') + std::string(100000, ']');
  BOOST_CHECK_THROW((void)lf::chat::ChatTemplate("x").apply(nlohmann::ordered_json::parse(deep_json)), lf::TemplateError);
}

BOOST_AUTO_TEST_CASE(huge_outputs_are_rejected) {
  lf::jinja::RenderOptions opt;
  opt.max_output = 1000;
  BOOST_CHECK_THROW((void)Template("{% for i in range(100) %}0123456789-{% endfor %}").render({}, opt), lf::TemplateError);
  BOOST_CHECK_THROW((void)Template("{{ 'x' * 100000 }}").render({}, opt), lf::TemplateError);
  expect_error("{{ range(100000000) | length }}", "range() is longer than");
}

BOOST_AUTO_TEST_CASE(arithmetic_that_python_could_do_with_big_integers_is_an_error_not_undefined_behaviour) {
  expect_error("{{ 9223372036854775807 + 1 }}", "integer result does not fit in 64 bits");
  expect_error("{{ 3037000500 * 3037000500 }}", "integer result does not fit in 64 bits");
  expect_error("{{ 2 ** 64 }}", "integer result does not fit in 64 bits");
  expect_error("{{ 1e300 | int }}", "cannot convert 1e+300 to a 64-bit integer");
  expect_error("{{ 'x' | indent(9223372036854775807) }}", "indent width 9223372036854775807 is larger than");
  BOOST_TEST(render("{{ 9223372036854775807 % -2 }} {{ 9223372036854775807 // -2 }} {{ '' * 9223372036854775807 }}|{{ (-1) ** 9223372036854775807 }}") ==
             "-1 -4611686018427387904 |-1");
  BOOST_TEST(render("{{ range(0, 9223372036854775807, 4611686018427387904) | list }}") == "[0, 4611686018427387904]");
}

// Mutations of real templates (deleted, inserted and copied characters) must parse and render or raise
// llmforge::Error, never crash; the sanitizer build (asan preset) turns memory errors into failures.
BOOST_AUTO_TEST_CASE(mutated_real_templates_raise_errors_not_crashes) {
  std::vector<std::string> sources;
  for (const auto& e : fs::directory_iterator(lf::test::chat_data_dir() / "templates")) sources.push_back(lf::test::read_file(e.path()));
  std::sort(sources.begin(), sources.end());
  const auto msgs = nlohmann::ordered_json::parse(lf::test::read_file(lf::test::chat_data_dir() / "conversations/tool_call.json"));
  const auto tools = nlohmann::ordered_json::parse(lf::test::read_file(lf::test::chat_data_dir() / "conversations/tools.json"));
  const std::string alphabet = "{}%#-+()[]|.,:'\"~=<>!*/ \n\tabcxyz0123456789_";
  std::mt19937 rng(20261207);
  int rendered = 0, failed = 0;
  for (int it = 0; it < 400; ++it) {
    std::string s = sources[rng() % sources.size()];
    for (int k = 0, n = 1 + static_cast<int>(rng() % 6); k < n && !s.empty(); ++k) {
      const std::size_t p = rng() % s.size();
      switch (rng() % 4) {
        case 0: s.erase(p, 1 + rng() % 10); break;
        case 1: s.insert(p, 1, alphabet[rng() % alphabet.size()]); break;
        case 2: s[p] = alphabet[rng() % alphabet.size()]; break;
        default: s.insert(p, s.substr(rng() % s.size(), rng() % 40));
      }
    }
    try {
      lf::chat::ChatInputs in{.add_generation_prompt = rng() % 2 == 0, .bos_token = "<s>"};
      if (rng() % 2) in.tools = tools;
      (void)lf::chat::ChatTemplate(s).apply(msgs, in);
      ++rendered;
    } catch (const lf::Error&) {
      ++failed;
    }
  }
  BOOST_TEST_MESSAGE(rendered << " mutated templates rendered, " << failed << " raised");
  BOOST_TEST(rendered + failed == 400);
}

BOOST_AUTO_TEST_CASE(trailing_newline_is_dropped_once_like_jinja2) {
  BOOST_TEST(render("a\n\n") == "a\n");
  BOOST_TEST(Template("a\n", "t", {.keep_trailing_newline = true}).render({}) == "a\n");
}

BOOST_AUTO_TEST_CASE(values_print_like_python) {
  BOOST_TEST(lf::jinja::float_repr(0.1) == "0.1");
  BOOST_TEST(lf::jinja::float_repr(1e16) == "1e+16");
  BOOST_TEST(lf::jinja::float_repr(123456789012345.6) == "123456789012345.6");
  BOOST_TEST(lf::jinja::float_repr(-0.0001) == "-0.0001");
  BOOST_TEST(lf::jinja::float_repr(0.00001) == "1e-05");
  BOOST_TEST(lf::jinja::float_repr(2.0) == "2.0");
  BOOST_TEST(lf::jinja::string_repr("it's") == "\"it's\"");
  BOOST_TEST(lf::jinja::string_repr("a\"b'c") == "'a\"b\\'c'");
}

BOOST_AUTO_TEST_SUITE_END()
