/* acpi.c: placeholder, filled in by the sysinfo work. */
