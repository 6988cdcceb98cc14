"""The class summary: a small class with known verdicts, every count, share, most-missed step, carried slip and
histogram bin counted again here; the HTML page read back with html.parser (its table, an inline SVG, nothing
fetched, the title escaped), the same bytes twice, a clear error without matplotlib, and a phone's width in
headless Chromium."""

import csv
import io
import sys
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from chainrule.errors import ChainruleError
from chainrule.explainer.audit import ClaimCheck
from chainrule.teach.grade import Mark, Result
from chainrule.teach.summary import carried_slips, histogram, most_missed, summary_csv, summary_html, summary_rows

POINTS = {"z1": 1.0, "a1": 1.0, "z3": 1.0, "L": 2.0, "w5'": 1.0}
SHARE = {"agrees": 1, "carried": 1, "imprecise": Fraction(1, 2), "slip": 0, "missing": 0, "degenerate": 0}
VERDICTS = {
    "a": ("agrees", "agrees", "agrees", "agrees", "agrees"),
    "b": ("slip", "carried", "carried", "carried", "carried"),
    "c": ("agrees", "slip", "agrees", "slip", "missing"),
    "d": ("slip", "agrees", "slip", "carried", "degenerate"),
    "e": ("missing", "missing", "missing", "missing", "missing"),
    "f": ("agrees", "agrees", "imprecise", "slip", "agrees"),
}
ORDER = ("agrees", "carried", "slip", "imprecise", "missing", "degenerate")
LABELS = ("right", "carried", "slip", "imprecise", "missing", "degenerate")
TITLE = "Week 3 <script>alert(1)</script> & co"


def result(student, verdicts):
    marks = [Mark(q, p, float(p * SHARE[v]), v) for (q, p), v in zip(POINTS.items(), verdicts, strict=True)]
    return Result(student, f"{student}.txt", marks)


def the_class():
    return [result(s, v) for s, v in VERDICTS.items()] + [Result("g", "g.txt", problem="g.txt: unreadable")]


def half_up(part, whole) -> str:
    value = Fraction(part) * 100 / Fraction(whole)
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.1"), ROUND_HALF_UP))


def counted():
    """Each question's verdicts over the six graded submissions, counted from the table above."""
    return {q: Counter(v[i] for v in VERDICTS.values()) for i, q in enumerate(POINTS)}


def slips_carried_in_order():
    """A slip carried on when a later mark of the same submission was carried (no audit recorded here)."""
    carried = Counter()
    for verdicts in VERDICTS.values():
        for i, (q, v) in enumerate(zip(POINTS, verdicts, strict=True)):
            carried[q] += v == "slip" and "carried" in verdicts[i + 1:]
    return carried


def test_summary_rows_count_every_verdict_of_the_graded_submissions():
    rows = summary_rows(the_class(), POINTS)
    assert [row.name for row in rows] == list(POINTS)
    expected, carried = counted(), slips_carried_in_order()
    for row in rows:
        assert row.graded == 6 and row.points == POINTS[row.name]
        assert row.counts == {v: expected[row.name][v] for v in ORDER}
        assert row.slips_carried == carried[row.name]
        for verdict in ORDER:
            assert row.percent(verdict) == half_up(expected[row.name][verdict], 6)
    # by hand: z1 slipped by b and d, both carried on; L slipped by c and f, neither carried on
    by_name = {row.name: row for row in rows}
    assert (by_name["z1"].counts["slip"], by_name["z1"].slips_carried) == (2, 2)
    assert (by_name["L"].counts["slip"], by_name["L"].slips_carried) == (2, 0)
    assert by_name["z3"].percent("imprecise") == "16.7" and by_name["w5'"].percent("missing") == "33.3"


def test_summary_csv_reads_back_with_every_count_and_share():
    table = list(csv.reader(io.StringIO(summary_csv(the_class(), POINTS))))
    assert table[0] == ["question", "points", "graded"] + [f"{label}{s}" for label in LABELS for s in ("", " %")] \
        + ["slips carried on"]
    expected, carried = counted(), slips_carried_in_order()
    assert [row[0] for row in table[1:]] == list(POINTS)
    for row in table[1:]:
        q = row[0]
        assert Fraction(row[1]) == Fraction(POINTS[q]) and row[2] == "6"
        for i, verdict in enumerate(ORDER):
            assert row[3 + 2 * i] == str(expected[q][verdict])
            assert row[4 + 2 * i] == half_up(expected[q][verdict], 6)
        assert row[-1] == str(carried[q])


def test_most_missed_steps_have_the_lowest_share_right_or_carried():
    rows = summary_rows(the_class(), POINTS)
    expected = counted()
    share = {q: Fraction(c["agrees"] + c["carried"], 6) for q, c in expected.items()}
    assert share == {"z1": Fraction(1, 2), "a1": Fraction(2, 3), "z3": Fraction(1, 2), "L": Fraction(1, 2),
                     "w5'": Fraction(1, 2)}
    # ties: more slips first (z1 and L have two, z3 one, w5' none), then the exercise's order
    assert [row.name for row in most_missed(rows)] == ["z1", "L", "z3", "w5'", "a1"]
    assert [row.name for row in most_missed(rows, 2)] == ["z1", "L"]
    everyone_right = summary_rows([result("a", VERDICTS["a"])], POINTS)
    assert most_missed(everyone_right) == []


def test_slips_carried_on_exactly_from_the_recorded_audit():
    """With the audit, a carried number names the inputs it was worked from: d's z1 slip carried into nothing,
    its z3 slip into L (and through L into w5'), where the marks' order alone credits both slips."""
    def check(name, verdict, carried_from=()):
        return ClaimCheck(name, 0.0, 0.0, "0", verdict, 0.0, 0.0, list(carried_from))

    d = result("d", VERDICTS["d"])
    assert carried_slips(d) == {"z1", "z3"}
    d.derivation = SimpleNamespace(claims=[check("z1", "slip"), check("a1", "agrees"), check("z3", "slip"),
                                           check("L", "carried", ["z3", "a2"]), check("w5+", "carried", ["L"])])
    assert carried_slips(d) == {"z3"}
    rows = {row.name: row for row in summary_rows([d], POINTS)}
    assert (rows["z1"].slips_carried, rows["z3"].slips_carried) == (0, 1)


def test_histogram_has_ten_bins_with_100_in_the_top_one():
    marks = {s: sum(Fraction(p) * SHARE[v] for p, v in zip(POINTS.values(), verdicts, strict=True)) / 6 * 100
             for s, verdicts in VERDICTS.items()}
    assert marks == {"a": 100, "b": Fraction(250, 3), "c": Fraction(100, 3), "d": 50, "e": 0, "f": Fraction(175, 3)}
    expected = [0] * 10
    for mark in marks.values():
        expected[min(int(mark // 10), 9)] += 1
    assert histogram(the_class()) == expected == [1, 0, 0, 1, 0, 2, 0, 0, 1, 1]


class Page(HTMLParser):
    """The parts of the summary page the tests read."""

    def __init__(self):
        super().__init__()
        self.tags, self.cells, self.attributes, self.text = Counter(), {}, [], []
        self.row = self.cell = None
        self.title = ""
        self.in_title = False
        self.cell_text = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags[tag] += 1
        self.attributes += [(tag, k, v) for k, v in attrs.items()]
        self.in_title = tag == "title"
        if tag == "tr" and "data-question" in attrs:
            self.row = attrs["data-question"]
        if tag == "td" and "data-verdict" in attrs:
            self.cell = (self.row, attrs["data-verdict"])
            self.cells[self.cell] = (attrs["data-count"], attrs["data-percent"])
            self.cell_text[self.cell] = ""

    def handle_endtag(self, tag):
        if tag == "td":
            self.cell = None
        self.in_title = False

    def handle_data(self, data):
        self.text.append(data)
        if self.in_title:
            self.title += data
        if self.cell is not None:
            self.cell_text[self.cell] += data


def read_page(html):
    page = Page()
    page.feed(html)
    page.close()
    return page


def test_summary_html_shows_the_table_an_svg_and_escapes_the_title():
    html = summary_html(the_class(), POINTS, TITLE)
    page = read_page(html)
    expected = counted()
    for q in POINTS:
        for verdict in ORDER:
            count, share = str(expected[q][verdict]), half_up(expected[q][verdict], 6)
            assert page.cells[q, verdict] == (count, share)
            assert page.cell_text[q, verdict] == f"{count}{share}%"
    assert page.tags["svg"] == 1 and page.tags["table"] == 2
    assert page.title == TITLE and "<script>" not in html and page.tags["script"] == 0
    text = " ".join(page.text)
    assert "Of 6 slips, 3 (50.0%) carried into later numbers" in text
    assert "Graded submissions: 6; not graded: 1" in text
    assert "z1: 50.0% right or carried (2 slips, 1 missing)" in text
    assert "z3: 50.0% right or carried (1 slip, 1 imprecise, 1 missing)" in text
    for i, count in enumerate([1, 0, 0, 1, 0, 2, 0, 0, 1, 1]):
        assert f"{10 * i}–{10 * i + 10}: {count}" in text


def test_summary_html_fetches_nothing():
    html = summary_html(the_class(), POINTS, TITLE)
    page = read_page(html)
    assert not {"link", "img", "script", "iframe", "object", "embed", "image"} & set(page.tags)
    for tag, key, value in page.attributes:
        if key in ("src", "href", "xlink:href"):
            assert value.startswith("#"), (tag, key, value)
    assert "url(http" not in html and "@import" not in html


def test_summary_html_is_the_same_twice_and_leaves_matplotlib_settings_alone():
    import matplotlib

    salt = matplotlib.rcParams["svg.hashsalt"]
    first = summary_html(the_class(), POINTS, TITLE)
    assert summary_html(the_class(), POINTS, TITLE) == first
    assert matplotlib.rcParams["svg.hashsalt"] == salt


def test_an_empty_class_gives_blank_shares_and_a_page():
    rows = summary_rows([Result("g", "g.txt", problem="unreadable")], POINTS)
    assert all(row.graded == 0 and row.percent("agrees") == "" for row in rows)
    assert most_missed(rows) == []
    html = summary_html([], POINTS, "Empty")
    assert "No slips." in html and "<svg" in html


def test_without_matplotlib_the_page_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ChainruleError, match=r"pip install 'chainrule\[plot\]'"):
        summary_html(the_class(), POINTS, TITLE)
    assert summary_csv(the_class(), POINTS).startswith("question,")      # the CSV needs no plotting


def test_the_page_fits_a_phone_without_sideways_scrolling(tmp_path):
    from browser import BrowserMissing, start
    from conftest import missing

    names = ["dL/dyhat1", "dL/dz3", "dL/da1", "dL/dw5", "dL/db1", "w5'", "w12'", "b1'", "L", "yhat1"]
    points = {name: 1.0 for name in names}
    results = [Result(f"s{i}", f"s{i}.txt", [Mark(n, 1.0, float(i % 3 != j % 2), ("agrees", "slip")[i % 3 == j % 2])
                                              for j, n in enumerate(names)]) for i in range(12)]
    path = tmp_path / "summary.html"
    path.write_text(summary_html(results, points, "Class summary: " + "a-very-long-exercise-folder-name " * 3))
    try:
        driver = start(1000, 900)
    except BrowserMissing as absent:
        missing(str(absent))
    try:        # Chromium keeps a window at least 500 wide: a phone's width is emulated
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 420, "height": 900,
                                                                      "deviceScaleFactor": 1, "mobile": True})
        driver.get(path.as_uri())
        widths = driver.execute_script(
            "const t = document.querySelector('table.questions');"
            "return [document.documentElement.scrollWidth, window.innerWidth, t.scrollWidth, t.parentNode.clientWidth,"
            " document.querySelector('svg').getBoundingClientRect().right];")
    finally:
        driver.quit()
    page, window, table, holder, svg_right = widths
    assert window == 420 and page <= window and table <= holder and svg_right <= window
