# SPDX-License-Identifier: MIT
# llmforge_add_kernels(<target>): adds the single Highway dispatch translation unit to a program.
# Call it once per final executable or shared library (never for a static library that is then
# linked into an executable that also calls it: the kernels would be defined twice).
function(llmforge_add_kernels target)
  get_target_property(_done ${target} LLMFORGE_KERNELS_ADDED)
  if(_done)
    message(FATAL_ERROR "llmforge_add_kernels(${target}) called twice")
  endif()
  set(_src "${CMAKE_CURRENT_BINARY_DIR}/llmforge_kernels_${target}.cpp")
  file(CONFIGURE OUTPUT "${_src}" CONTENT "#include <llmforge/kernels/dispatch_impl.hpp>\n" @ONLY)
  target_sources(${target} PRIVATE "${_src}")
  # Kernels state every fused multiply-add explicitly; implicit contraction would change their rounding
  # (and the agreement with llama.cpp's outputs that depends on it).
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    set_source_files_properties("${_src}" TARGET_DIRECTORY ${target} PROPERTIES COMPILE_OPTIONS "-ffp-contract=off")
  endif()
  target_link_libraries(${target} PRIVATE llmforge::llmforge)
  set_target_properties(${target} PROPERTIES LLMFORGE_KERNELS_ADDED TRUE)
endfunction()
