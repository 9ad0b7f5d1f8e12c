/*
 * shell.h: what the shell's command files share (shell.c holds the
 * command table): reading a number or an on|off argument, running the
 * scheduler from the shell, and running a command's task to its end
 * (tasks.c).
 */
#ifndef MORESTACK_SHELL_H
#define MORESTACK_SHELL_H
#include <stdbool.h>
#include <stdint.h>

#include "rt.h"

void run_tasks(void);
int parse_u64(const char *s, uint64_t *out);
/* For a `CMD [on|off]` command: 1 or 0 for the word, -1 for none (show the
 * setting); -2, after the usage line, for anything else (change nothing). */
int parse_on_off(const char *cmd, int argc, char **argv);

/*
 * Running a command's task to its end, the same way everywhere (tasks.c).
 * A task that could not start or did not return gives no result: these
 * print why, as "CMD: ...; CONSEQUENCE", where the consequence says what
 * the command will not claim (e.g. "no verdict about Go", "no figure").
 *
 *   task_start   rt_spawn, or NULL after "CMD: cannot start task NAME: out of memory"
 *   task_end     joins t; true (value in *value) if it returned; false after
 *                "CMD: task N (NAME) was killed: REASON" or "did not finish";
 *                reaps t unless it is still parked
 *   task_run     task_start, run_tasks, task_end
 *   task_died    the "was killed" / "did not finish" line alone (t joined, not reaped)
 */
struct rt_task *task_start(const char *cmd, rt_func fn, uint64_t arg, const char *name,
			   const char *consequence);
bool task_end(const char *cmd, struct rt_task *t, uint64_t *value, const char *consequence);
bool task_run(const char *cmd, rt_func fn, uint64_t arg, const char *name, uint64_t *value,
	      const char *consequence);
void task_died(const char *cmd, struct rt_task *t, const char *consequence);

/* shell.c: the prompt, the line editor's input, the command table */
_Noreturn void shell_run(void);

/* The commands, file by file (each file's comment says what they do). */
void cmd_grow(int argc, char **argv);       /* tasks.c */
void cmd_spawn(int argc, char **argv);
void cmd_resume(int argc, char **argv);
void cmd_tasks(int argc, char **argv);
void cmd_stack(int argc, char **argv);
void cmd_trace(int argc, char **argv);
void cmd_stacklimit(int argc, char **argv);
void cmd_stackreuse(int argc, char **argv);
void cmd_stale(int argc, char **argv);      /* taskfaults.c */
void cmd_taskfault(int argc, char **argv);
void cmd_hang(int argc, char **argv);
void cmd_churn(int argc, char **argv);      /* churn.c */
void cmd_fuzz(int argc, char **argv);       /* fuzz.c */
void cmd_falsepos(int argc, char **argv);   /* falsepos.c */
void cmd_closures(int argc, char **argv);   /* closures.c */
void cmd_defer(int argc, char **argv);      /* defers.c */
void cmd_panic(int argc, char **argv);
void cmd_bench(int argc, char **argv);      /* bench.c */
void cmd_sysinfo(int argc, char **argv);    /* sysinfo.c */
void cmd_usb(int argc, char **argv);        /* usb.c */
void usb_describe_controllers(const char *indent);

/* stress.c: the move-stress switch on bare metal (the PIT's IRQ 0) */
void cmd_stress(int argc, char **argv);
#endif
