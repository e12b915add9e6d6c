/* Gives the program libraries (fcgi/, scheduler/) one source file even before
 * they have their own, so CMake can always create them. Intentionally empty. */
typedef int tr_empty_translation_unit;
