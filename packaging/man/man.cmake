# man.cmake - writes OUT, the man page of program NAME (section 8): the NAME,
# SYNOPSIS, DESCRIPTION, FILES and SEE ALSO of man/NAME.txt, and an OPTIONS section
# made from the option table as `PROG --print-options` dumps it (tab-separated: name,
# short, type, default, min, max, programs, help; docs/OPERATIONS.md, "Options"), so
# the page lists exactly the options PROG takes, with their defaults and bounds.
# Run by packaging/CMakeLists.txt:
#   cmake -DPROG=path -DNAME=timerush-fcgi -DVERSION=1.0.0 -DOUT=file.8 -P man.cmake
cmake_minimum_required(VERSION 3.18)
execute_process(COMMAND ${PROG} --print-options OUTPUT_VARIABLE table RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} --print-options exited ${rc}")
endif()
get_filename_component(here ${CMAKE_SCRIPT_MODE_FILE} DIRECTORY)
file(READ ${here}/${NAME}.txt body)
string(REGEX REPLACE "^timerush-" "" self ${NAME})       # fcgi, scheduler

# roff: a backslash is \e, '-' a minus, a line never starts with . or '.
function(roff_escape in out)
  string(REPLACE "\\" "\\e" t "${in}")
  string(REPLACE "-" "\\-" t "${t}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" t "${t}")
  set(${out} "${t}" PARENT_SCOPE)
endfunction()

set(opts "")
# CMake lists split on ';': hold the table's own semicolons apart meanwhile.
string(REPLACE ";" "@SEMI@" table "${table}")
string(REPLACE "\n" ";" lines "${table}")
set(n 0)
foreach(line IN LISTS lines)
  if(line STREQUAL "" OR line MATCHES "^#")
    continue()
  endif()
  string(REPLACE "\t" ";" f "${line}")
  list(LENGTH f nf)
  if(NOT nf EQUAL 9)
    message(FATAL_ERROR "${PROG} --print-options: not 9 fields: ${line}")
  endif()
  list(GET f 0 name)
  list(GET f 1 short)
  list(GET f 2 type)
  list(GET f 3 def)
  list(GET f 4 min)
  list(GET f 5 max)
  list(GET f 6 progs)
  list(GET f 7 flags)
  list(GET f 8 help)
  # flags (secret, cli-only): the help text of those options already says so.
  string(REPLACE "," ";" progs "${progs}")
  if(NOT self IN_LIST progs)
    continue()
  endif()
  math(EXPR n "${n} + 1")
  set(tag "\\fB\\-\\-${name}\\fR")
  if(NOT short STREQUAL "-")
    set(tag "\\fB\\-${short}\\fR, ${tag}")
  endif()
  if(type STREQUAL "int")
    set(tag "${tag} \\fIN\\fR")
  elseif(NOT type STREQUAL "flag")
    set(tag "${tag} \\fIVALUE\\fR")
  endif()
  string(REPLACE "@SEMI@" ";" help "${help}")
  roff_escape("${help}" help)
  set(extra "")
  if(type STREQUAL "int")
    set(extra " (${min} to ${max}")
    if(NOT def STREQUAL "")
      set(extra "${extra}; default ${def}")
    endif()
    set(extra "${extra})")
  elseif(type STREQUAL "list")
    set(extra " (repeatable)")
  elseif(NOT def STREQUAL "" AND NOT type STREQUAL "flag")
    roff_escape("${def}" d)
    set(extra " (default ${d})")
  endif()
  string(APPEND opts ".TP\n${tag}\n${help}${extra}.\n")
endforeach()
if(n LESS 10)
  message(FATAL_ERROR "${PROG} --print-options: only ${n} options for ${self}")
endif()

string(TOUPPER ${NAME} upper)
file(WRITE ${OUT} ".TH ${upper} 8 \"\" \"timerush ${VERSION}\" \"TimeRush\"\n${body}")
file(APPEND ${OUT} ".SH OPTIONS\n\
Every option can also be a \\fIname\\fR = \\fIvalue\\fR line of the \\fB\\-c\\fR file \
(a flag as true or false).\n\
.TP\n\\fB\\-c\\fR, \\fB\\-\\-config\\fR \\fIFILE\\fR\nread options from FILE first.\n\
${opts}\
.TP\n\\fB\\-\\-print\\-options\\fR\nprint the option table, a tab\\-separated line per option.\n\
.TP\n\\fB\\-\\-version\\fR\nprint the version and exit.\n\
.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nprint the options with their defaults and exit.\n")
