/*
 * version.c - the version of the library that is actually loaded.
 */
#include "config.h"

#include "internal.h"

const char *nb_version(void)
{
    return NB_VERSION_STRING;
}
