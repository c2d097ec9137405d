/* The few macros every file may use. */
#ifndef V6FWD_MACRO_H
#define V6FWD_MACRO_H

#define ELEMENTSOF(a)	(sizeof(a) / sizeof((a)[0]))

#endif
