# man.cmake - writes OUT, the man page of program NAME (section 8): NAME, SYNOPSIS,
# the DESCRIPTION and FILES of man/NAME.txt, and OPTIONS = the output of `PROG --help`
# (the option table), as preformatted text. Run by packaging/CMakeLists.txt.
#   cmake -DPROG=path -DNAME=timerush-fcgi -DVERSION=1.0.0 -DOUT=file.8 -P man.cmake
execute_process(COMMAND ${PROG} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${PROG} --help exited ${rc}")
endif()
get_filename_component(here ${CMAKE_SCRIPT_MODE_FILE} DIRECTORY)
file(READ ${here}/${NAME}.txt body)

# roff: a backslash is \e, a line starting with . or ' is escaped, '-' is a minus.
function(roff_escape in out)
  string(REPLACE "\\" "\\e" t "${in}")
  string(REPLACE "-" "\\-" t "${t}")
  string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" t "${t}")
  set(${out} "${t}" PARENT_SCOPE)
endfunction()
roff_escape("${help}" help)

string(TOUPPER ${NAME} upper)
file(WRITE ${OUT} ".TH ${upper} 8 \"\" \"timerush ${VERSION}\" \"TimeRush\"\n${body}")
file(APPEND ${OUT} ".SH OPTIONS\n.nf\n${help}.fi\n")
