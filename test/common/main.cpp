// SPDX-License-Identifier: MIT
// The Boost.Test entry point shared by every test executable.
#define BOOST_TEST_MODULE llmforge
#include <boost/test/unit_test.hpp>
