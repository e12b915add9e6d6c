/* Placeholder until the program lands; replaced by its owner. */
#include <stdio.h>
int main(void)
{
    fputs("not built yet\n", stderr);
    return 1;
}
