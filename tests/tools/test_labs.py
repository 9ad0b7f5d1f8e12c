"""The labs (labs/, tools/lab.py, labs/grade.py): every lab's starter tree
builds, boots and fails its grade, and the project's own code (the
solution) scores full marks; the region markers are checked, and broken
ones are refused with the line that is wrong."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from usbtest import BUILD, IMAGE, need_image

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB_PY = os.path.join(TOP, "tools", "lab.py")
GRADE_PY = os.path.join(TOP, "labs", "grade.py")


def labs():
    d = os.path.join(TOP, "labs")
    return sorted(n for n in os.listdir(d) if os.path.isfile(os.path.join(d, n, "README.md")))


def grade(tree, lab, image):
    r = subprocess.run([sys.executable, os.path.join(tree, "labs", "grade.py"), lab, "--json",
                        "--image", image, "-j", "2"], capture_output=True, text=True, timeout=900)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        raise AssertionError("grade.py %s printed no JSON (status %d):\n%s\n%s"
                             % (lab, r.returncode, r.stdout, r.stderr))


class Labs(unittest.TestCase):
    def test_the_regions_are_well_formed(self):
        r = subprocess.run([sys.executable, LAB_PY, "check"], capture_output=True, text=True)
        self.assertEqual(0, r.returncode, r.stderr)
        self.assertRegex(r.stdout, r"labs: %d labs, \d+ regions, all well formed" % len(labs()))
        self.assertGreaterEqual(len(labs()), 2)

    def test_the_solution_scores_full_marks(self):
        need_image()
        for lab in labs():
            rc, res = grade(TOP, lab, IMAGE)
            self.assertEqual(0, rc, "%s: %s" % (lab, json.dumps(res, indent=1)))
            self.assertEqual(res["max"], res["score"], lab)
            self.assertGreater(res["max"], 0, lab)

    def test_each_starter_builds_boots_and_fails_its_grade(self):
        need_image()
        for lab in labs():
            with tempfile.TemporaryDirectory(prefix="morestack-lab-") as tmp:
                tree = os.path.join(tmp, lab)
                r = subprocess.run([sys.executable, LAB_PY, "make", lab, tree],
                                   capture_output=True, text=True)
                self.assertEqual(0, r.returncode, r.stderr)
                self.assertFalse(os.path.exists(os.path.join(tree, ".ci")), "the tree has .ci")
                # The region is gone: no solution left behind a marker.
                out = subprocess.run(["grep", "-rn", "--include=*.c", "--include=*.h",
                                      "--include=*.S", "LAB %s BEGIN" % lab, tree],
                                     capture_output=True, text=True).stdout
                self.assertEqual("", out, "solution markers left in the starter tree")
                # This tree's build, so that only what the lab changed is compiled.
                shutil.copytree(BUILD, os.path.join(tree, "build"), symlinks=True)
                r = subprocess.run(["make", "-C", tree, "-j2", "image"], capture_output=True,
                                   text=True, timeout=900)
                self.assertEqual(0, r.returncode, "%s: the starter does not build:\n%s%s"
                                 % (lab, r.stdout[-3000:], r.stderr[-3000:]))
                image = os.path.join(tree, "build", "morestack.img")
                rc, res = grade(tree, lab, image)
                self.assertNotEqual(0, rc, "%s: the starter passed its grade" % lab)
                self.assertLess(res["score"], res["max"], lab)
                self.assertTrue(any(not t["ok"] for t in res["tests"]), lab)
                # A failing boot's serial log is kept for the student.
                logs = os.listdir(os.path.join(tree, "build", "labs", lab))
                self.assertTrue(any(l.endswith(".log") for l in logs), "%s: logs %s" % (lab, logs))

    def test_a_broken_region_is_refused_with_its_line(self):
        with tempfile.TemporaryDirectory(prefix="morestack-lab-") as tmp:
            subprocess.run(["git", "init", "-q", tmp], check=True)
            os.makedirs(os.path.join(tmp, "tools"))
            os.makedirs(os.path.join(tmp, "labs", "x"))
            shutil.copy(LAB_PY, os.path.join(tmp, "tools", "lab.py"))
            open(os.path.join(tmp, "labs", "x", "README.md"), "w").write("# x\n")
            with open(os.path.join(tmp, "a.c"), "w") as f:
                f.write("int f(void)\n{\n\t/* LAB x BEGIN: return one */\n\treturn 1;\n"
                        "\t/* LAB x ELSE\n\treturn 0;\n}\n")  # no END
            subprocess.run(["git", "-C", tmp, "add", "."], check=True)
            r = subprocess.run([sys.executable, os.path.join(tmp, "tools", "lab.py"), "check"],
                               capture_output=True, text=True)
            self.assertNotEqual(0, r.returncode)
            self.assertIn("a.c:5: LAB x ELSE has no END", r.stderr)
            with open(os.path.join(tmp, "a.c"), "a") as f:
                f.write("\tLAB x END */\n")
            r = subprocess.run([sys.executable, os.path.join(tmp, "tools", "lab.py"), "make", "x",
                                os.path.join(tmp, "out")], capture_output=True, text=True)
            self.assertEqual(0, r.returncode, r.stderr)
            text = open(os.path.join(tmp, "out", "a.c")).read()
            self.assertIn("/* LAB x: return one */\n\treturn 0;\n}", text)
            self.assertNotIn("return 1", text)

    def test_hidden_tests_are_graded_and_left_out_of_the_starter(self):
        need_image()
        with tempfile.TemporaryDirectory(prefix="morestack-lab-") as tmp:
            tree = os.path.join(tmp, "teacher")
            subprocess.run(["git", "clone", "-q", TOP, tree], check=True)
            hidden = os.path.join(tree, "labs", "switch", "hidden")
            os.makedirs(hidden)
            with open(os.path.join(hidden, "extra.py"), "w") as f:
                f.write("from harness import expect_in\nfrom gradelib import points\n\n\n"
                        "@points(3)\ndef test_help_still_lists_grow(m):\n"
                        "    expect_in('grow DEPTH', m.cmd('help'))\n")
            subprocess.run(["git", "-C", tree, "add", "labs"], check=True)
            rc, res = grade(tree, "switch", IMAGE)
            self.assertEqual(0, rc, json.dumps(res, indent=1))
            extra = [t for t in res["tests"] if t["hidden"]]
            self.assertEqual(["test_help_still_lists_grow"], [t["name"] for t in extra])
            self.assertEqual((3, 3), (extra[0]["points"], extra[0]["max"]))
            self.assertEqual(sum(t["max"] for t in res["tests"]), res["max"])
            student = os.path.join(tmp, "student")
            r = subprocess.run([sys.executable, os.path.join(tree, "tools", "lab.py"), "make",
                                "switch", student], capture_output=True, text=True)
            self.assertEqual(0, r.returncode, r.stderr)
            self.assertTrue(os.path.isfile(os.path.join(student, "labs", "switch", "grade.py")))
            self.assertFalse(os.path.exists(os.path.join(student, "labs", "switch", "hidden")),
                             "the starter tree holds the hidden tests")

    def test_grade_names_the_labs_when_one_is_unknown(self):
        r = subprocess.run([sys.executable, GRADE_PY, "nosuchlab"], capture_output=True, text=True)
        self.assertNotEqual(0, r.returncode)
        self.assertIn("grade: no lab 'nosuchlab': the labs are", r.stderr)
        for lab in labs():
            self.assertIn(lab, r.stderr)


if __name__ == "__main__":
    unittest.main()
