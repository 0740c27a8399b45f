"""The README's CI examples are valid YAML, and the kubecheck command they run is one the command line accepts."""

import os
import re
import shlex

import yaml

from conftest import ROOT


def _ci_blocks():
    text = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    section = text.split("\n## In CI\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```yaml\n(.*?)```", section, re.S)


def _commands(node):
    """Every shell line of a CI document: GitHub's `run:` steps, GitLab's `script:` lists."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "run" and isinstance(v, str):
                yield v
            elif k == "script" and isinstance(v, list):
                yield from (x for x in v if isinstance(x, str))
            else:
                yield from _commands(v)
    elif isinstance(node, list):
        for x in node:
            yield from _commands(x)


def test_the_ci_examples_are_yaml_that_runs_an_accepted_kubecheck_command():
    from kubecheck.cli import build_parser
    blocks = _ci_blocks()
    assert len(blocks) == 2   # GitHub Actions, GitLab CI
    for block in blocks:
        doc = yaml.safe_load(block)
        verify = [c for c in _commands(doc) if c.startswith("kubecheck verify")]
        assert len(verify) == 1, block
        args = build_parser().parse_args(shlex.split(verify[0])[1:])
        assert args.junit and args.report and args.workers is not None
    github = yaml.safe_load(blocks[0])
    assert any(s.get("uses", "").startswith("dorny/test-reporter") for s in github["jobs"]["verify"]["steps"])
    gitlab = yaml.safe_load(blocks[1])
    assert gitlab["kubecheck"]["artifacts"]["reports"]["junit"] == "kubecheck.xml"
