"""docs_options.py - the option tables of docs/*.md say what the programs do.

Each command declares its options once (src/cli/options.h), with type,
default and range; `--help` prints them, and the hidden `--options-json`
dumps the same declarations. This test reads every table in docs/*.md that
follows an `<!-- options: mfb CMD, ... -->` marker and checks, against both
programs: each documented option exists with the same short name, metavar
and default; each option of each command is documented, in one table; and
each command's `--help` shows that default.
"""

import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.environ.get("MFB_TEST_LIB") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import mfbtest  # noqa: E402

DOCS = os.path.join(mfbtest.SOURCE_DIR, "docs")
MARKER = re.compile(r"^<!-- options: (.+) -->\s*$")
ROW = re.compile(r"^\| `(?:-(\w), )?--([a-z0-9-]+)(?: ([^`]+))?` \| ((?:[^|\\]|\\\|)*) \|")


def declared():
    """Every command of both programs: {"mfb push": {...}}."""
    commands = {}
    for program in (mfbtest.MFB, mfbtest.MFB_SERVER):
        out = mfbtest.run([program, "--options-json"], expect=0).stdout
        for c in json.loads(out)["commands"]:
            commands[c["command"]] = c
    return commands


def documented():
    """[(doc, line, [commands], {option: (short, metavar, default)})]."""
    tables = []
    for name in sorted(os.listdir(DOCS)):
        if not name.endswith(".md"):
            continue
        with open(os.path.join(DOCS, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        for i, line in enumerate(lines):
            m = MARKER.match(line)
            if not m:
                continue
            rows = {}
            for row in lines[i + 3:]:
                if not row.startswith("|"):
                    break
                r = ROW.match(row)
                if r is None:
                    raise AssertionError("%s:%d: cannot read the row %r" % (name, i + 1, row))
                metavar = r.group(3).replace("\\|", "|") if r.group(3) else None
                default = r.group(4).strip().replace("\\|", "|").replace("`", "")
                rows[r.group(2)] = (r.group(1), metavar, default or None)
            tables.append((name, i + 1, [c.strip() for c in m.group(1).split(",")], rows))
    return tables


class DocsOptions(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.commands = declared()
        cls.tables = documented()

    def test_documented_options_exist_with_their_defaults(self):
        self.assertGreater(len(self.tables), 20)
        for doc, line, names, rows in self.tables:
            for name in names:
                where = "%s:%d %s" % (doc, line, name)
                self.assertIn(name, self.commands, where + ": no such command")
                options = {o["name"]: o for o in self.commands[name]["options"]}
                self.assertEqual(sorted(rows), sorted(options),
                                 where + ": documented options differ from the program's")
                for opt, (short, metavar, default) in rows.items():
                    o = options[opt]
                    self.assertEqual((short, metavar, default),
                                     (o["short"], o["metavar"], o["default"]),
                                     "%s --%s (short, metavar, default)" % (where, opt))

    def test_every_command_with_options_is_documented_once(self):
        seen = {}
        for doc, line, names, _ in self.tables:
            for name in names:
                self.assertNotIn(name, seen, "%s documented twice (%s:%d, %s)"
                                 % (name, doc, line, seen.get(name)))
                seen[name] = "%s:%d" % (doc, line)
        missing = [c for c, d in self.commands.items() if d["options"] and c not in seen]
        self.assertEqual(missing, [], "commands whose options no doc lists")

    def test_help_shows_each_default(self):
        for name, c in self.commands.items():
            program, *words = name.split()
            binary = mfbtest.MFB if program == "mfb" else mfbtest.MFB_SERVER
            text = mfbtest.run([binary] + words + ["--help"], expect=0).stdout
            for o in c["options"]:
                line = next((l for l in text.split("\n") if l.startswith("  ") and re.search(
                    r"--%s( |$)" % re.escape(o["name"]), l)), None)
                self.assertIsNotNone(line, "%s --help lacks --%s" % (name, o["name"]))
                if c["keeps_values"] and o["type"] != "flag":
                    self.assertIn("default: unchanged", line)
                elif o["default"]:
                    self.assertIn("default: %s)" % o["default"], line.replace("; may be repeated", ""))
                else:
                    self.assertNotIn("default:", line)


if __name__ == "__main__":
    mfbtest.main()
