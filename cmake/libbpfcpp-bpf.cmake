# libbpfcpp_bpf_object(<target> <name> <source.bpf.c> [VMLINUX] [INCLUDES dir...]
#                      [CLANG_FLAGS flag...])
#
# Compiles <source.bpf.c> with clang -target bpf into <name>.bpf.o and turns it into the
# header <name>.bpf.hpp (bpf_objects::<name>() -> bpf::EmbeddedObject, for
# bpf::Module::open_memory), added to <target>'s sources and include path, so the tool
# ships as one executable. VMLINUX generates vmlinux.h from the running kernel's BTF
# (bpftool) for CO-RE sources that #include "vmlinux.h". libbpfcpp's include directory
# is on the BPF compile line, for #include <libbpfcpp/bpf/ringbuf_drops.h>. INCLUDES adds
# include directories (relative ones to the current source directory), CLANG_FLAGS any
# other flags of the BPF compile (-DNAME=1, -mcpu=v3).
#
# libbpfcpp_bpf_skeleton(<target> <name> <source.bpf.c>... [VMLINUX] [INCLUDES dir...]
#                        [CLANG_FLAGS flag...] [TYPES type...] [NO_EMBED])
#
# Compiles <source.bpf.c> the same way and generates the typed skeleton <name>.skel.hpp
# with libbpfcpp-gen (namespace <name>: <name>::Skeleton::open(), maps.X, progs.X,
# rodata()/bss()/data(), the BTF types); TYPES adds types no map or global names (events).
# Several sources are compiled one by one (objects <name>-<stem>.bpf.o) and linked into one
# skeleton, as `bpftool gen object` would link them (NO_EMBED needs a single source).
# Settings: LIBBPFCPP_BPF_CLANG (default: clang), LIBBPFCPP_BPFTOOL (default: bpftool).
include_guard(GLOBAL)

# Compiles one BPF object into ${out}/<name>.bpf.o; the arguments of the public functions.
function(_libbpfcpp_compile_bpf name source out vmlinux includes clang_flags)
  # An object both embedded and given a skeleton is compiled once, so both calls must
  # compile it the same way.
  set(settings "${source}|${vmlinux}|${includes}|${clang_flags}")
  get_property(compiled DIRECTORY PROPERTY LIBBPFCPP_BPF_OBJECTS)
  if("${name}" IN_LIST compiled)
    get_property(before DIRECTORY PROPERTY "LIBBPFCPP_BPF_SETTINGS_${name}")
    if(NOT before STREQUAL settings)
      message(FATAL_ERROR "libbpfcpp: BPF object '${name}' is compiled once for all the calls that name it, "
                          "but this call gives other settings (source|VMLINUX|INCLUDES|CLANG_FLAGS: "
                          "'${settings}', before: '${before}'); give the same ones, or another name")
    endif()
    return()
  endif()
  set_property(DIRECTORY APPEND PROPERTY LIBBPFCPP_BPF_OBJECTS "${name}")
  set_property(DIRECTORY PROPERTY "LIBBPFCPP_BPF_SETTINGS_${name}" "${settings}")
  if(NOT LIBBPFCPP_BPF_CLANG)
    find_program(LIBBPFCPP_BPF_CLANG clang REQUIRED)
  endif()

  string(TOLOWER "${CMAKE_SYSTEM_PROCESSOR}" arch)
  if(arch MATCHES "x86_64|amd64|i.86")
    set(arch x86)
  elseif(arch MATCHES "aarch64|arm64")
    set(arch arm64)
  endif()

  # BPF sources that include UAPI headers (<linux/bpf.h>) need the multiarch directory
  # of the host's asm/ headers, which clang -target bpf does not search by itself.
  execute_process(COMMAND "${CMAKE_C_COMPILER}" -print-multiarch
                  OUTPUT_VARIABLE multiarch OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  set(flags -target bpf -g -O2 -Wall "-D__TARGET_ARCH_${arch}" -I "${out}")
  # libbpfcpp's own include directory: BPF-side headers such as <libbpfcpp/bpf/ringbuf_drops.h>.
  if(LIBBPFCPP_INCLUDE_DIR)
    list(APPEND flags -I "${LIBBPFCPP_INCLUDE_DIR}")
  endif()
  if(multiarch)
    list(APPEND flags -idirafter "/usr/include/${multiarch}")
  endif()
  foreach(dir IN LISTS includes)
    get_filename_component(dir "${dir}" ABSOLUTE)
    list(APPEND flags -I "${dir}")
  endforeach()
  list(APPEND flags ${clang_flags})

  set(deps "")
  if(vmlinux)
    # One vmlinux.h per directory, however many objects use it.
    get_property(have_vmlinux DIRECTORY PROPERTY LIBBPFCPP_VMLINUX_H)
    if(NOT have_vmlinux)
      if(NOT LIBBPFCPP_BPFTOOL)
        find_program(LIBBPFCPP_BPFTOOL bpftool PATHS /usr/sbin /sbin REQUIRED)
      endif()
      add_custom_command(OUTPUT "${out}/vmlinux.h"
        COMMAND "${LIBBPFCPP_BPFTOOL}" btf dump file /sys/kernel/btf/vmlinux format c > "${out}/vmlinux.h"
        COMMENT "Generating vmlinux.h from the running kernel's BTF")
      set_property(DIRECTORY PROPERTY LIBBPFCPP_VMLINUX_H TRUE)
    endif()
    list(APPEND deps "${out}/vmlinux.h")
  endif()

  get_filename_component(src "${source}" ABSOLUTE)
  add_custom_command(OUTPUT "${out}/${name}.bpf.o"
    COMMAND "${LIBBPFCPP_BPF_CLANG}" ${flags} -c "${src}" -o "${out}/${name}.bpf.o"
    DEPENDS "${src}" ${deps}
    IMPLICIT_DEPENDS C "${src}"
    COMMENT "Compiling BPF object ${name}.bpf.o")
endfunction()

function(libbpfcpp_bpf_object target name source)
  cmake_parse_arguments(PARSE_ARGV 3 arg "VMLINUX" "" "INCLUDES;CLANG_FLAGS")
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  set(out "${CMAKE_CURRENT_BINARY_DIR}/libbpfcpp-bpf")
  file(MAKE_DIRECTORY "${out}")
  _libbpfcpp_compile_bpf(${name} "${source}" "${out}" "${arg_VMLINUX}" "${arg_INCLUDES}" "${arg_CLANG_FLAGS}")
  add_custom_command(OUTPUT "${out}/${name}.bpf.hpp"
    COMMAND Python3::Interpreter "${LIBBPFCPP_EMBED}" "${out}/${name}.bpf.o" "${out}/${name}.bpf.hpp" "${name}"
    DEPENDS "${out}/${name}.bpf.o" "${LIBBPFCPP_EMBED}"
    COMMENT "Embedding ${name}.bpf.o")
  target_sources(${target} PRIVATE "${out}/${name}.bpf.hpp")
  target_include_directories(${target} PRIVATE "${out}")
endfunction()

function(libbpfcpp_bpf_skeleton target name)
  cmake_parse_arguments(PARSE_ARGV 2 arg "VMLINUX;NO_EMBED" "" "INCLUDES;CLANG_FLAGS;TYPES")
  set(sources ${arg_UNPARSED_ARGUMENTS})
  list(LENGTH sources count)
  if(count EQUAL 0)
    message(FATAL_ERROR "libbpfcpp_bpf_skeleton(${target} ${name}): no BPF source given; "
                        "name one or more .bpf.c files after the skeleton's name")
  endif()
  if(count GREATER 1 AND arg_NO_EMBED)
    message(FATAL_ERROR "libbpfcpp_bpf_skeleton(${target} ${name}): NO_EMBED needs a single source "
                        "(the linked object of several sources exists only inside the skeleton)")
  endif()
  set(out "${CMAKE_CURRENT_BINARY_DIR}/libbpfcpp-bpf")
  file(MAKE_DIRECTORY "${out}")
  set(objects "")
  if(count EQUAL 1)
    _libbpfcpp_compile_bpf(${name} "${sources}" "${out}" "${arg_VMLINUX}" "${arg_INCLUDES}" "${arg_CLANG_FLAGS}")
    list(APPEND objects "${out}/${name}.bpf.o")
  else()
    foreach(source IN LISTS sources)
      # An object per source, named after the skeleton and the source (x.bpf.c -> NAME-x).
      get_filename_component(stem "${source}" NAME)
      string(REGEX REPLACE "(\\.bpf)?\\.c$" "" stem "${stem}")
      _libbpfcpp_compile_bpf("${name}-${stem}" "${source}" "${out}" "${arg_VMLINUX}" "${arg_INCLUDES}" "${arg_CLANG_FLAGS}")
      list(APPEND objects "${out}/${name}-${stem}.bpf.o")
    endforeach()
  endif()
  set(gen_args --name "${name}")
  foreach(t IN LISTS arg_TYPES)
    list(APPEND gen_args --type "${t}")
  endforeach()
  if(arg_NO_EMBED)
    list(APPEND gen_args --no-embed)
  endif()
  add_custom_command(OUTPUT "${out}/${name}.skel.hpp"
    COMMAND "${LIBBPFCPP_GEN}" skeleton ${objects} ${gen_args} -o "${out}/${name}.skel.hpp"
    DEPENDS ${objects} "${LIBBPFCPP_GEN}"
    COMMENT "Generating the skeleton ${name}.skel.hpp")
  target_sources(${target} PRIVATE "${out}/${name}.skel.hpp")
  target_include_directories(${target} PRIVATE "${out}")
endfunction()
