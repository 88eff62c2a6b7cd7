/*
 * test_connector_uv_skip.c - tests/test_connector_uv when configure did
 * not find libuv: the test is still run, and reported as skipped (77),
 * saying why.
 */
#include <stdio.h>

int main(void)
{
    printf("skip: libuv not found (apt-get install libuv1-dev, then run "
           "./configure again)\n");
    return 77;
}
