/* sysinfo.c: placeholder, filled in by the sysinfo work. */
#include "kernel.h"
#include "shell.h"

void cmd_sysinfo(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	kprintf("sysinfo: not written yet\n");
}
