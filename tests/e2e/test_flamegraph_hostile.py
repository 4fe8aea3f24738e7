"""The flame graph with hostile input: a search box that takes text (not a
regular expression), and stacks too deep to draw whole."""
import json
import re
import sys

from conftest import record, record_blocks_in, run
from test_flamegraph import dom_after_scripts


def data_of(html):
    text = html.read_text()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))	# the tree is 2,000 deep
    return json.loads(text.split('id="data">')[1].split("</script>")[0])


def test_search_is_plain_text(tmp_path):
    """'c++(' as a regular expression throws; as text it finds the frames under that directory."""
    out = record_blocks_in(tmp_path, "c++(dir)", "weird_blocks")
    html = tmp_path / "search.html"
    assert run("flamegraph", "-o", html, out).returncode == 0
    # the hash is read at load: the same page, opened as file.html#search=...
    dom = dom_after_scripts("%s#search=%s" % (html, "c%2B%2B(dir"), tmp_path)
    # the search ran to its end: the details line says what matched, and frames are highlighted
    assert re.search(r'id="details">\d+ frames match: ', dom), dom[-3000:]
    chart = dom.split('id="chart"')[1].split("</svg>")[0]
    assert len(re.findall(r'fill="#E600E6"', chart, re.I)) >= 2, chart[:3000]


def test_deep_stack_keeps_its_leaf(fixtures, tmp_path):
    _, out = record(tmp_path, fixtures.build("deep_leaf.c"))
    html = tmp_path / "deep.html"
    assert run("flamegraph", "-o", html, out).returncode == 0
    node, depth, names = data_of(html), 0, []
    while node["children"]:
        node = max(node["children"], key=lambda c: c["value"])
        names.append(node["name"])
        depth += 1
    assert names[-1] == "allocating_leaf" and node["value"] == 1 << 20, names[-5:]
    elided = [n for n in names if "frames elided" in n]
    assert len(elided) == 1 and re.fullmatch(r"\.\.\. \d+ frames elided \.\.\.", elided[0]), elided
    assert depth <= 2001
    assert "frames between elided" in html.read_text()
