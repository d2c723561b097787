// SPDX-License-Identifier: MIT
// Carrier of the tests' precompiled headers (test/CMakeLists.txt, LLMFORGE_TEST_PCH).
