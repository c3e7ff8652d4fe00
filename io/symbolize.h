/* Symbolization of sampled addresses on the reporter thread: function names from each object's
 * .symtab and dynamic symbol table, read from its file once, and cached per address. What stays
 * unknown keeps its address and its object's build id for a backend to symbolize later. */
#ifndef RS_IO_SYMBOLIZE_H
#define RS_IO_SYMBOLIZE_H

#include "../preload/objtab.h"

/* Takes the current table of loaded objects (a copy; kept by the caller while lookups run).
 * Objects keep their symbols across calls while their file and load address stay the same. */
void rs_sym_update(const struct rs_objtab *t);

/* The object holding pc in the table last given (NULL: none), and the name of the function
 * (NULL: unknown). */
const struct rs_obj *rs_sym_lookup(uint64_t pc, const char **name);

/* True when the symbols of o were read and it has some: pprof's has_functions. */
bool rs_sym_has_functions(const struct rs_obj *o);

/* The file of o to open and show: the executable's real path for the main program. */
const char *rs_sym_path(const struct rs_obj *o);

/* In a fork child: forget everything without freeing. */
void rs_sym_forget(void);

#endif
