# recall_add_signatures(<target> [SOURCES_FROM <targets>...]): build-time body signatures
# (docs/SIGNATURES.md) in one line. Runs recall-sign over the translation units of <target> and
# of the SOURCES_FROM targets (a library the memoized code calls into), adds the generated source
# to <target>, and reruns through recall-sign's depfile whenever a file it read changes.
#
# It links nothing: <target> keeps whichever target_link_libraries signature (keyword or plain)
# it already uses. Needs CMake >= 3.20 (DEPFILE; the EXPORT_COMPILE_COMMANDS target property)
# and the Ninja or Makefile generators, which write compile_commands.json.
include_guard(GLOBAL)

function(recall_add_signatures target)
  cmake_parse_arguments(PARSE_ARGV 1 recall_arg "" "" "SOURCES_FROM")
  if(recall_arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "recall_add_signatures(${target}): unexpected arguments '${recall_arg_UNPARSED_ARGUMENTS}' "
                        "(usage: recall_add_signatures(<target> [SOURCES_FROM <targets>...]))")
  endif()
  if(CMAKE_VERSION VERSION_LESS 3.20)
    message(FATAL_ERROR "recall_add_signatures(${target}): needs CMake 3.20 or newer (this is ${CMAKE_VERSION})")
  endif()
  foreach(t IN ITEMS ${target} ${recall_arg_SOURCES_FROM})
    if(NOT TARGET ${t})
      message(FATAL_ERROR "recall_add_signatures(${target}): there is no target named '${t}' "
                          "(call it after add_executable/add_library)")
    endif()
  endforeach()
  if(NOT RECALL_SIGN_EXECUTABLE)
    find_program(RECALL_SIGN_EXECUTABLE recall-sign DOC "recall-sign, which generates recall's body signatures")
  endif()
  if(NOT RECALL_SIGN_EXECUTABLE)
    message(FATAL_ERROR "recall_add_signatures(${target}): recall-sign is not installed (recall was built without "
                        "libclang; Debian: libclang-16-dev) and is not on PATH; set RECALL_SIGN_EXECUTABLE")
  endif()

  # Relative sources are relative to their target's folder; --source-dir tells recall-sign so.
  # Generator expressions: the source lists are read when the build is generated, so sources
  # added after this call (target_sources) count too.
  set(cxx_source_regex "\\.(cpp|cc|cxx|c\\+\\+|C|CPP|cp)$")
  set(sources_arguments "")
  foreach(t IN ITEMS ${target} ${recall_arg_SOURCES_FROM})
    set_property(TARGET ${t} PROPERTY EXPORT_COMPILE_COMMANDS ON)
    list(APPEND sources_arguments --source-dir "$<TARGET_PROPERTY:${t},SOURCE_DIR>"
         "$<FILTER:$<TARGET_PROPERTY:${t},SOURCES>,INCLUDE,${cxx_source_regex}>")
  endforeach()

  set(output "${CMAKE_CURRENT_BINARY_DIR}/recall_signatures/${target}.cpp")
  set(depfile "${CMAKE_CURRENT_BINARY_DIR}/recall_signatures/${target}.d")
  add_custom_command(
    OUTPUT "${output}"
    COMMAND "${RECALL_SIGN_EXECUTABLE}" --compdb "${CMAKE_BINARY_DIR}/compile_commands.json"
            --root "${CMAKE_SOURCE_DIR}" --output "${output}" --depfile "${depfile}" ${sources_arguments}
    DEPFILE "${depfile}"
    COMMENT "recall-sign: body signatures of ${target}"
    COMMAND_EXPAND_LISTS
    VERBATIM)
  target_sources(${target} PRIVATE "${output}")
  # Checked once the folder is read, so that sources added after this call count.
  cmake_language(EVAL CODE "cmake_language(DEFER CALL _recall_check_signature_sources [[${target}]])")
endfunction()

# A target with no C++ translation unit has nothing to sign: an error naming it.
function(_recall_check_signature_sources target)
  get_target_property(sources ${target} SOURCES)
  set(output "${CMAKE_CURRENT_BINARY_DIR}/recall_signatures/${target}.cpp")
  foreach(s IN LISTS sources)
    if(s MATCHES "\\$<" OR (s MATCHES "\\.(cpp|cc|cxx|c\\+\\+|C|CPP|cp)$" AND NOT s STREQUAL output))
      return()
    endif()
  endforeach()
  message(FATAL_ERROR "recall_add_signatures(${target}): target '${target}' has no C++ sources to read")
endfunction()
