# labs/labs.mk: the labs (labs/*/README.md), included by the top Makefile.
#
#   make lab LAB=name [LAB_OUT=dir]   the student tree: the project with LAB's
#                                     solution taken out (tools/lab.py), in
#                                     ../morestack-lab-name (beside this tree,
#                                     where make clean cannot reach it) unless
#                                     LAB_OUT says where
#   make grade LAB=name               grade this tree's build against the lab's
#                                     tests: each with its points, "Score: N/M"
#       GRADE_JSON=1                  one JSON object instead (for course tools)
#       TIMEOUT_SCALE=3               every time limit three times as long
#   make labs-check                   every lab's regions well formed
LAB_OUT ?= ../morestack-lab-$(LAB)

.PHONY: lab grade labs-check
lab:
	@test -n "$(LAB)" || { echo "lab: say which: make lab LAB=name (labs: $$(ls labs | grep -v '\.' | tr '\n' ' '))"; exit 2; }
	$(PYTHON) tools/lab.py make $(LAB) $(LAB_OUT)

grade: $(IMAGE)
	@test -n "$(LAB)" || { echo "grade: say which: make grade LAB=name"; exit 2; }
	$(PYTHON) labs/grade.py $(LAB) --image $(IMAGE) $(if $(GRADE_JSON),--json) \
		$(if $(TIMEOUT_SCALE),--timeout-scale $(TIMEOUT_SCALE))

labs-check:
	$(PYTHON) tools/lab.py check
