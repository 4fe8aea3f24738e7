#!/usr/bin/python3
"""run_action: run a composite GitHub action's steps on this machine, the
way a GitHub runner would, so its tests need no GitHub.

    run_action.py [--workspace DIR] [--temp DIR] [--input NAME=VALUE]...
                  [--env NAME=VALUE]... [--result FILE] ACTION_DIR

What it interprets, as far as github-action/action.yml uses it:
- inputs with their defaults (an unknown or missing required input is an
  error here, where GitHub only warns: a test should not pass on a typo);
- `${{ }}` expressions in env:, run:, with:, if: and the outputs: the
  contexts inputs, github (action_path, workspace, token from GITHUB_TOKEN), runner (os, arch, temp,
  tool_cache), steps (outputs, outcome, conclusion) and env; literals,
  ! == != < <= > >= && || and parentheses, with GitHub's loose equality
  (strings compared case-insensitively, other mixes as numbers); the
  functions success() failure() always() cancelled() contains()
  startsWith() endsWith() format();
- if: (success() unless the condition names a status function);
- shell: bash, sh and python, run as GitHub runs them (bash with
  `--noprofile --norc -eo pipefail`), with working-directory;
- per step a fresh GITHUB_OUTPUT and GITHUB_STEP_SUMMARY file (both the
  name=value and the name<<DELIMITER forms), and GITHUB_ENV and GITHUB_PATH
  carried to the later steps; the job summary is the steps' summaries.
Steps that `uses:` another action (actions/cache) are skipped with a note
on stderr: their outputs are empty, as on a cache miss.

The steps' stdout and stderr are this program's. Exit status: 0 when every
step that ran succeeded, else the first failing step's status (the job
failed); 2 for an error of this program or of the action's metadata.
--result FILE gets JSON: {"outputs", "steps": [{id, name, outcome, note}],
"summary": the job summary text, "failed"}.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import yaml


class ActionError(Exception):
    """The action (or a call of this program) uses what this runner cannot do."""


# ---- expressions --------------------------------------------------------

TOKEN = re.compile(r"""\s*(?:
    (?P<string>'(?:[^']|'')*')
  | (?P<number>-?(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?))
  | (?P<op>==|!=|<=|>=|&&|\|\||[!<>()\[\].,*])
  | (?P<name>[A-Za-z_][A-Za-z0-9_-]*)
)""", re.VERBOSE)


def tokenize(text):
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ActionError("cannot read expression %r at %r" % (text, text[pos:]))
        pos = m.end()
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
    return tokens


def truthy(v):
    if isinstance(v, float) and math.isnan(v):
        return False
    return v not in (None, False, 0, "") or isinstance(v, (dict, list))


def to_number(v):
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        s = v.strip()
        if s == "":
            return 0.0
        try:
            return float(int(s, 16)) if s.lower().startswith("0x") else float(s)
        except ValueError:
            return math.nan
    return math.nan


def to_string(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def loose_equal(a, b):
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if type(a) is type(b) and not isinstance(a, (int, float)):
        return a == b
    return to_number(a) == to_number(b)


def compare(op, a, b):
    if op == "==":
        return loose_equal(a, b)
    if op == "!=":
        return not loose_equal(a, b)
    if isinstance(a, str) and isinstance(b, str):
        x, y = a.casefold(), b.casefold()
    else:
        x, y = to_number(a), to_number(b)
    return {"<": x < y, "<=": x <= y, ">": x > y, ">=": x >= y}[op]


class Parser:
    """Recursive descent over GitHub's expression grammar (the part above)."""

    def __init__(self, text, contexts, functions):
        self.text, self.tokens, self.i = text, tokenize(text), 0
        self.contexts, self.functions = contexts, functions

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise ActionError("expression %r: expected %s" % (self.text, value or "more"))
        self.i += 1
        return tok

    def parse(self):
        v = self.or_expr()
        if self.i != len(self.tokens):
            raise ActionError("expression %r: unexpected %r" % (self.text, self.peek()[1]))
        return v

    def chain(self, op, operand, pick):
        """operand (op operand)*, folded by pick(left, right)."""
        v = operand()
        while self.peek() == ("op", op):
            self.take()
            v = pick(v, operand())
        return v

    def or_expr(self):	# the first truthy operand, as GitHub gives it
        return self.chain("||", self.and_expr, lambda v, rhs: v if truthy(v) else rhs)

    def and_expr(self):	# the first falsy operand, or the last
        return self.chain("&&", self.cmp_expr, lambda v, rhs: rhs if truthy(v) else v)

    def cmp_expr(self):
        v = self.unary()
        while self.peek()[0] == "op" and self.peek()[1] in ("==", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            v = compare(op, v, self.unary())
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.postfix(self.primary())

    def primary(self):
        kind, value = self.take()
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return to_number(value)
        if kind == "op" and value == "(":
            v = self.or_expr()
            self.take(")")
            return v
        if kind == "name":
            if value in ("true", "false"):
                return value == "true"
            if value == "null":
                return None
            if self.peek() == ("op", "("):
                return self.call(value)
            if value not in self.contexts:
                raise ActionError("expression %r: unknown context %r" % (self.text, value))
            return self.contexts[value]
        raise ActionError("expression %r: unexpected %r" % (self.text, value))

    def postfix(self, v):
        while self.peek() in (("op", "."), ("op", "[")):
            if self.take()[1] == ".":
                key = self.take()[1]
            else:
                key = to_string(self.or_expr())
                self.take("]")
            if isinstance(v, dict):
                v = next((x for k, x in v.items() if k.casefold() == key.casefold()), None)
            else:
                v = None
        return v

    def call(self, name):
        self.take("(")
        args = []
        while self.peek() != ("op", ")"):
            args.append(self.or_expr())
            if self.peek() == ("op", ","):
                self.take()
        self.take(")")
        fn = self.functions.get(name.lower())
        if not fn:
            raise ActionError("expression %r: function %s() is not supported here" % (self.text, name))
        return fn(*args)


def fn_format(fmt, *args):
    return re.sub(r"\{\{|\}\}|\{(\d+)\}",
                  lambda m: m.group(0)[0] if m.group(1) is None else to_string(args[int(m.group(1))]),
                  to_string(fmt))


def fn_contains(hay, needle):
    if isinstance(hay, list):
        return any(loose_equal(x, needle) for x in hay)
    return to_string(needle).casefold() in to_string(hay).casefold()


class Job:
    """The state one run of the action shares between its steps."""

    def __init__(self, action_dir, workspace, temp, inputs, env):
        self.action_dir, self.workspace, self.temp = action_dir, workspace, temp
        self.inputs, self.env = inputs, env
        self.steps = {}	# id -> {"outputs", "outcome", "conclusion"}
        self.failed = False
        self.summary = []
        self.tool_cache = os.path.join(temp, "tool-cache")
        os.makedirs(self.tool_cache, exist_ok=True)
        self.env_file = os.path.join(temp, "github-env")
        self.path_file = os.path.join(temp, "github-path")
        for f in (self.env_file, self.path_file):
            open(f, "w").close()

    def contexts(self, step_env=None):
        return {
            "inputs": self.inputs,
            # token: what a test puts in GITHUB_TOKEN (a runner's own is secret and never in env)
            "github": {"action_path": self.action_dir, "workspace": self.workspace, "action": "__run_action",
                       "token": self.env.get("GITHUB_TOKEN", "")},
            "runner": {"os": "Linux", "arch": "X64", "temp": self.temp, "tool_cache": self.tool_cache},
            "steps": self.steps,
            "env": dict(self.env, **(step_env or {})),
        }

    def functions(self):
        return {
            "success": lambda: not self.failed,
            "failure": lambda: self.failed,
            "always": lambda: True,
            "cancelled": lambda: False,
            "contains": fn_contains,
            "startswith": lambda a, b: to_string(a).casefold().startswith(to_string(b).casefold()),
            "endswith": lambda a, b: to_string(a).casefold().endswith(to_string(b).casefold()),
            "format": fn_format,
        }

    def evaluate(self, expr, step_env=None):
        return Parser(expr, self.contexts(step_env), self.functions()).parse()

    def interpolate(self, text, step_env=None):
        """A string with ${{ }} parts replaced by their values as strings."""
        if not isinstance(text, str):
            return to_string(text)
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: to_string(self.evaluate(m.group(1), step_env)), text,
                      flags=re.DOTALL)

    def condition(self, cond):
        if cond is None:
            return not self.failed
        if isinstance(cond, bool):
            return cond and not self.failed
        text = str(cond).strip()
        m = re.fullmatch(r"\$\{\{(.*)\}\}", text, flags=re.DOTALL)
        if m:
            text = m.group(1)
        if not re.search(r"\b(success|failure|always|cancelled)\s*\(", text):
            text = "success() && (%s)" % text
        return truthy(self.evaluate(text))


# ---- file commands -----------------------------------------------------

def read_file_commands(path):
    """NAME=VALUE and NAME<<DELIMITER ... DELIMITER lines, as the runner reads them."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    values, i = {}, 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip():
            continue
        eq, heredoc = line.find("="), line.find("<<")
        if heredoc > 0 and (eq < 0 or heredoc < eq):
            name, delim = line[:heredoc], line[heredoc + 2:]
            body = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i == len(lines):
                raise ActionError("%s: no line %r ends the value of %s" % (path, delim, name))
            i += 1
            values[name] = "\n".join(body)
        elif eq > 0:
            values[line[:eq]] = line[eq + 1:]
        else:
            raise ActionError("%s: cannot read line %r" % (path, line))
    return values


SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": ["python3", "{0}"],
}


def note(text):
    sys.stdout.flush()
    print("run_action: " + text, file=sys.stderr, flush=True)


def run_step(job, number, step):
    """Run one step; returns its record for --result."""
    sid = step.get("id") or "__step%d" % number
    name = step.get("name") or step.get("uses") or "step %d" % number
    record = {"id": sid, "name": name, "outcome": "skipped", "note": ""}
    job.steps[sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
    if not job.condition(step.get("if")):
        record["note"] = "if: %s is false" % step.get("if", "success()")
        note("step %r skipped: %s" % (name, record["note"]))
        return record
    if "uses" in step:
        record["note"] = "uses: %s is another action; not run here" % step["uses"]
        note("step %r skipped: %s" % (name, record["note"]))
        return record
    shell = step.get("shell")
    if shell not in SHELLS:
        raise ActionError("step %r: shell %r is not supported here (composite steps must name one)" % (name, shell))
    # env: first, so run: and working-directory can read env.X
    step_env = {}
    for k, v in (step.get("env") or {}).items():
        step_env[k] = job.interpolate(v, step_env)
    script = job.interpolate(step["run"], step_env)
    env = dict(job.env)
    env.update(read_file_commands(job.env_file))
    extra_path = [p for p in open(job.path_file, encoding="utf-8").read().split("\n") if p]
    if extra_path:
        env["PATH"] = os.pathsep.join(reversed(extra_path)) + os.pathsep + env.get("PATH", "")
    env.update(step_env)
    step_dir = tempfile.mkdtemp(prefix="step%d-" % number, dir=job.temp)
    files = {k: os.path.join(step_dir, k.lower()) for k in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY")}
    for k, f in files.items():
        open(f, "w").close()
        env[k] = f
    env["GITHUB_ENV"], env["GITHUB_PATH"] = job.env_file, job.path_file
    script_path = os.path.join(step_dir, "script" + (".py" if shell == "python" else ".sh"))
    with open(script_path, "w", encoding="utf-8") as f:
        f.write(script)
    cwd = job.workspace
    if step.get("working-directory"):
        cwd = os.path.join(job.workspace, job.interpolate(step["working-directory"], step_env))
    argv = [a.replace("{0}", script_path) for a in SHELLS[shell]]
    note("step %r: %s" % (name, " ".join(argv[:-1])))
    sys.stdout.flush()
    status = subprocess.run(argv, cwd=cwd, env=env).returncode
    outcome = "success" if status == 0 else "failure"
    job.steps[sid] = {"outputs": read_file_commands(files["GITHUB_OUTPUT"]), "outcome": outcome,
                      "conclusion": outcome}
    with open(files["GITHUB_STEP_SUMMARY"], encoding="utf-8") as f:
        job.summary.append(f.read())
    record["outcome"] = outcome
    if status:
        record["note"] = "exit status %d" % status
        note("step %r failed with exit status %d" % (name, status))
        if not job.failed:
            job.failed = status
    return record


def parse_pairs(pairs, what):
    out = {}
    for p in pairs:
        if "=" not in p:
            raise ActionError("--%s %r: expected NAME=VALUE" % (what, p))
        k, v = p.split("=", 1)
        out[k] = v
    return out


def run_action(args):
    action_dir = os.path.abspath(args.action_dir)
    meta_path = next((os.path.join(action_dir, n) for n in ("action.yml", "action.yaml")
                      if os.path.exists(os.path.join(action_dir, n))), None)
    if not meta_path:
        raise ActionError("%s: no action.yml" % action_dir)
    with open(meta_path, encoding="utf-8") as f:
        meta = yaml.safe_load(f)
    if (meta.get("runs") or {}).get("using") != "composite":
        raise ActionError("%s: only composite actions run here" % meta_path)
    given = parse_pairs(args.input, "input")
    declared = meta.get("inputs") or {}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        raise ActionError("unknown input(s) %s; %s declares %s" % (", ".join(unknown), meta_path,
                                                                   ", ".join(declared)))
    temp = os.path.abspath(args.temp or tempfile.mkdtemp(prefix="run_action-"))
    os.makedirs(temp, exist_ok=True)
    workspace = os.path.abspath(args.workspace or os.getcwd())
    env = dict(os.environ)
    env.update({"CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace,
                "GITHUB_ACTION_PATH": action_dir, "RUNNER_OS": "Linux", "RUNNER_ARCH": "X64",
                "RUNNER_TEMP": temp, "RUNNER_TOOL_CACHE": os.path.join(temp, "tool-cache")})
    env.update(parse_pairs(args.env, "env"))
    job = Job(action_dir, workspace, temp, {}, env)
    for name, spec in declared.items():
        spec = spec or {}
        if name in given:
            job.inputs[name] = given[name]
        elif spec.get("required") and "default" not in spec:
            raise ActionError("input %r is required" % name)
        else:
            job.inputs[name] = job.interpolate(spec.get("default", ""))
    records = [run_step(job, n, step) for n, step in enumerate(meta["runs"]["steps"], 1)]
    outputs = {name: job.interpolate((spec or {}).get("value", "")) for name, spec in
               (meta.get("outputs") or {}).items()}
    result = {"outputs": outputs, "steps": records, "summary": "".join(job.summary), "failed": bool(job.failed)}
    if args.result:
        with open(args.result, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
    return job.failed or 0


def main():
    ap = argparse.ArgumentParser(description="Run a composite GitHub action's steps on this machine.")
    ap.add_argument("action_dir")
    ap.add_argument("--workspace", help="GITHUB_WORKSPACE, where the steps run (default: here)")
    ap.add_argument("--temp", help="RUNNER_TEMP (default: a new temporary directory)")
    ap.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--result", metavar="FILE", help="write the outputs and step outcomes as JSON")
    args = ap.parse_args()
    try:
        return run_action(args)
    except (ActionError, OSError, yaml.YAMLError) as e:
        note("error: %s" % e)
        return 2


if __name__ == "__main__":
    sys.exit(main())
