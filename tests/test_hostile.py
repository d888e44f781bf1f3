"""Hostile and broken exports (issue 10, part 1): each case alone, then all in one ``reindex``.

Every hostile file is made here from the seed article (a real OJS record), so each case
differs from a good export in one way only.  What must hold for each: the good records
come through, the bad file or record is named with its line and a reason, nothing from
outside the file (a secret, an expanded entity) gets in, and nothing raises.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
import shutil
import socket
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import CliRunner

from search import store
from search.cli import reindex_command
from search.ingest import MAX_CHILDREN, MAX_TEXT, Problem, read_file, read_stream
from search.records import Article
from web import create_app

FIXTURES = Path(__file__).parent / "fixtures"
SEED = (FIXTURES / "seed-article.xml").read_text(encoding="utf-8")
SEED_RECORD = re.search(r"<Article>.*</Article>", SEED, re.DOTALL).group(0)  # type: ignore[union-attr]
SEED_TITLE = "Adoptive Cell Therapy in Pediatric Leukemia"
PASSWD_LINE = Path("/etc/passwd").read_text().splitlines()[0]


def record(n: int, title: str | None = None, abstract: str | None = None, inside: str = "") -> str:
    """The seed article as article ``n`` (its own URL), with another title or abstract if given."""
    text = SEED_RECORD.replace("/article/view/192", f"/article/view/hostile-{n}")
    if title is not None:
        text = text.replace(SEED_TITLE, title)
    if abstract is not None:
        text = re.sub(r"(<abstract locale=\"en_US\">).*?(</abstract>)", lambda m: m.group(1) + abstract + m.group(2),
                      text, flags=re.DOTALL)
    return text.replace("</AuthorList>", inside + "</AuthorList>") if inside else text


def export(*records: str, prolog: str = '<?xml version="1.0"?>') -> str:
    return prolog + '\n<Articles JournalTitle="Immunology and Genetics Journal">\n' + "\n".join(records) + "\n</Articles>\n"


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@dataclass
class Case:
    """One hostile file: its name and bytes, the titles that must come through, the problem expected."""

    name: str
    data: bytes
    titles: list[str]
    problem: str | None = None  # a fragment of the reason; None: no problem at all
    line: int | None = None  # the line the problem must name, where it is known
    prefix_only: bool = False  # the file breaks midway: the titles before the break, in order


class Listener:
    """A TCP port that records whether anything connected: an external entity or DTD fetched over HTTP."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    port = Listener()
    yield port
    port.close()


def _many(first: int, count: int) -> tuple[list[str], list[str]]:
    titles = [f"Leukemia study number {i}" for i in range(first, first + count)]
    return [record(i, title) for i, title in zip(range(first, first + count), titles)], titles


@functools.lru_cache(maxsize=2)
def hostile_cases(url: str) -> list[Case]:
    """Every case of issue 10 §1; ``url`` is a listener no entity or DTD may reach."""
    cases = []
    records, titles = _many(100, 60)
    whole = gzip.compress(export(*records).encode("utf-8"))
    cases.append(Case("truncated.xml.gz", whole[: len(whole) * 2 // 3], titles, "ends too early", prefix_only=True))
    cases.append(Case("plain-named-gz.xml.gz", export(record(1, "Plain named gz")).encode(), [], "Not a gzipped file"))
    # A gzip header, then garbage: zlib's own error type, neither OSError nor EOFError.
    cases.append(Case("garbage.xml.gz", whole[:10] + bytes(range(256)) * 4, [], "cannot read file"))
    cases.append(Case("image.xml", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), [], "malformed XML", line=1))
    cases.append(Case("empty.xml", b"", [], "empty file"))
    persian = "درمان سلولی لوسمی کودکان"
    utf16 = export(record(2, persian), prolog='<?xml version="1.0" encoding="UTF-16"?>')
    cases.append(Case("utf16-bom.xml", utf16.encode("utf-16"), [persian]))
    cases.append(Case("utf16-no-bom.xml", utf16.encode("utf-16-le"), [persian]))
    cases.append(Case("utf16-no-bom-no-prolog.xml", ("\n" + export(record(3, "Sixteen bits"), prolog="")).encode("utf-16-be"),
                      ["Sixteen bits"]))
    arabic = "العلاج الخلوي لسرطان الدم"
    cases.append(Case("windows-1256.xml", export(record(4, arabic), prolog='<?xml version="1.0" encoding="windows-1256"?>')
                      .encode("cp1256"), [arabic]))
    cases.append(Case("iso-8859-1.xml", export(record(5, "Thérapie cellulaire"),
                                               prolog='<?xml version="1.0" encoding="ISO-8859-1"?>').encode("latin-1"),
                      ["Thérapie cellulaire"]))
    undeclared = export(record(6, "Before the odd bytes"), record(7, "Thérapie sans déclaration"),
                        record(23, "After the odd bytes"))
    cases.append(Case("undeclared-latin1.xml", undeclared.encode("latin-1"),
                      ["Before the odd bytes", "Thérapie sans déclaration", "After the odd bytes"],
                      f"not valid UTF-8 at line {line_of(undeclared, 'Thérapie')}, read as windows-1252",
                      line=line_of(undeclared, "Thérapie")))
    entities = '<!ENTITY a "laughlaugh">' + "".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    cases.append(Case("billion-laughs.xml", export(record(8, "Laughs &i;"),
                                                   prolog=f'<?xml version="1.0"?>\n<!DOCTYPE Articles [{entities}]>').encode(),
                      [], "amplification"))
    xxe_file = export(record(9, "Secret &secret;"),
                      prolog='<?xml version="1.0"?>\n<!DOCTYPE Articles [<!ENTITY secret SYSTEM "file:///etc/passwd">]>')
    cases.append(Case("xxe-file.xml", xxe_file.encode(), ["Secret"], "&secret;", line=line_of(xxe_file, "<Article>")))
    xxe_url = export(record(10, "Remote &remote;"),
                     prolog=f'<?xml version="1.0"?>\n<!DOCTYPE Articles [<!ENTITY remote SYSTEM "{url}/x">]>')
    cases.append(Case("xxe-url.xml", xxe_url.encode(), ["Remote"], "&remote;", line=line_of(xxe_url, "<Article>")))
    cases.append(Case("with-dtd.xml", export(record(11, "With a DTD"),
                                             prolog=f'<?xml version="1.0"?>\n<!DOCTYPE Articles SYSTEM "{url}/a.dtd">').encode(),
                      ["With a DTD"]))
    deep = export(record(12, "Before the deep one"), record(13, "Deep", "x" + "<i>" * 10_000 + "y" + "</i>" * 10_000))
    cases.append(Case("deep.xml", deep.encode(), ["Before the deep one"], "depth", line=line_of(deep, "<i><i>")))
    big = export(record(14, "Eight megabytes"), record(15, "After the big one"),
                 ).replace("Acute lymphoblastic", "lymphoblastic " * ((8 << 20) // 14) + "Acute", 1)
    cases.append(Case("big-abstract.xml", big.encode(), ["Eight megabytes", "After the big one"],
                      f"cut to {MAX_TEXT:,}", line=line_of(big, "<Article>")))
    authors = "".join(f"<Author><FirstName>A{i}</FirstName><LastName>Author{i}</LastName></Author>" for i in range(100_000))
    crowd = export(record(16, "One hundred thousand authors", inside=authors))
    cases.append(Case("many-authors.xml", crowd.encode(), ["One hundred thousand authors"], f"first {MAX_CHILDREN:,}",
                      line=line_of(crowd, "<Article>")))
    cases.append(Case("markup.xml", export(record(
        17, "Cell <script>alert('title')</script><i>therapy</i> &lt;script&gt;alert(1)&lt;/script&gt;in mice",
        "Escaped &lt;script type='text/javascript'&gt;document.cookie&lt;/script&gt;and <b>bold</b> "
        "<style>p {color: red}</style>text.")).encode(), ["Cell therapy in mice"]))
    cases.append(Case("control-characters.xml", export(
        record(18, "Form\x0cfeed and \x01start"), record(19, "Vertical&#x0B;tab &#1;here"),
        record(20, "Escape \x1b and C1 \u0085\u0090 controls")).encode(),
        ["Form feed and start", "Vertical tab here", "Escape and C1 controls"]))
    records, titles = _many(200, 5)
    cut = export(*records)
    cut = cut[: cut.index(SEED_TITLE.split()[0], cut.index("Leukemia study number 203"))]
    cases.append(Case("cut-midway.xml", cut.encode(), titles[:3], "malformed XML", line=cut.count("\n") + 1))
    cases.append(Case("duplicates.xml", export(record(21, "Twice in one file"), record(22, "Interleaved record"),
                                               record(21, "Twice in one file")).encode(),
                      ["Twice in one file", "Interleaved record", "Twice in one file"]))
    return cases


def _by_name(name: str) -> Callable[[str], Case]:
    return lambda url: next(c for c in hostile_cases(url) if c.name == name)


def article_lines(text: str) -> list[int]:
    """The line of each record of an export made by :func:`export`."""
    return [n for n, line in enumerate(text.splitlines(), 1) if line.startswith("<Article>")]


NAMES = [c.name for c in hostile_cases("http://127.0.0.1:9")]


@pytest.mark.parametrize("name", NAMES)
def test_each_hostile_file_alone(name: str, tmp_path: Path, listener: Listener) -> None:
    case = _by_name(name)(listener.url)
    path = tmp_path / case.name
    path.write_bytes(case.data)
    records = list(read_file(path))  # must not raise, whatever is in the file
    titles = [r.title for r in records if isinstance(r, Article)]
    problems = [r for r in records if isinstance(r, Problem)]
    if case.prefix_only:
        assert titles and titles == case.titles[: len(titles)], titles
        assert len(titles) < len(case.titles)
    else:
        assert titles == case.titles
    if case.problem is None:
        assert problems == []
    else:
        [problem] = problems
        assert problem.file == str(path) and case.problem in problem.reason, problem
        assert problem.kind == "error"
        if case.line is not None:
            assert problem.line == case.line, problem
    text = json.dumps([r.to_dict() for r in records if isinstance(r, Article)], ensure_ascii=False)
    assert PASSWD_LINE not in text and "laughlaugh" not in text
    assert not re.search(r"alert|cookie|color: red", text)
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    assert listener.connections == 0  # no entity or DTD fetched


def test_oversized_record_keeps_its_first_part(tmp_path: Path) -> None:
    case = _by_name("big-abstract.xml")("http://127.0.0.1:9")
    many = _by_name("many-authors.xml")("http://127.0.0.1:9")
    (tmp_path / "big.xml").write_bytes(case.data)
    (tmp_path / "many.xml").write_bytes(many.data)
    big = next(r for r in read_file(tmp_path / "big.xml") if isinstance(r, Article))
    assert big.abstracts[0].text.startswith("lymphoblastic lymphoblastic") and len(big.abstracts[0].text) <= MAX_TEXT
    crowd = next(r for r in read_file(tmp_path / "many.xml") if isinstance(r, Article))
    assert len(crowd.authors) == MAX_CHILDREN and crowd.authors[-1].last_name == f"Author{MAX_CHILDREN - 3}"  # after the seed's two


def test_one_reindex_over_every_hostile_file(tmp_path: Path, listener: Listener) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "seed-article.xml", data / "0-seed.xml")
    shutil.copy(FIXTURES / "medline-sample-export.xml", data / "0-medline.xml")
    cases = hostile_cases(listener.url)
    for case in cases:
        (data / case.name).write_bytes(case.data)
    index = tmp_path / "index"
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--no-meaning"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "Aborted" not in result.output
    for case in cases:
        if case.problem is not None:
            where = f"{data / case.name}:{case.line}" if case.line else f"{data / case.name}"
            assert any(line.startswith(f"error: {where}") and case.problem in line
                       for line in result.output.splitlines()), (case.name, result.output)
    first, _, again = article_lines(cases[-1].data.decode())
    assert (f"skipped: {data / 'duplicates.xml'}:{again} (https://igj.tums.ac.ir/index.php/igj/article/view/hostile-21):"
            f" the same article as line {first}: indexed once") in result.output
    assert listener.connections == 0

    live, _ = store.open_live(index)
    with live.searcher() as searcher:
        stored = [f["record"] for f in searcher.all_stored_fields()]
    everything = "\n".join(stored)
    assert PASSWD_LINE not in everything and "laughlaugh" not in everything
    assert not re.search(r"alert|cookie", everything)
    assert sum('"Twice in one file"' in r for r in stored) == 1

    client = create_app(index, {"TESTING": True}).test_client()
    good = [t for case in cases for t in (case.titles if not case.prefix_only else case.titles[:1])]
    for title in set(good) | {SEED_TITLE}:
        answer = client.get("/api/search", query_string={"q": f'"{title}"', "per_page": 100}).get_json()
        assert title in [hit["title"] for hit in answer["hits"]], title


class _Chunked:
    """A binary stream that gives ``data`` ``size`` bytes at a time, as gzip and sockets may."""

    def __init__(self, data: bytes, size: int) -> None:
        self.data, self.size = data, size

    def read(self, size: int = -1) -> bytes:
        chunk, self.data = self.data[: min(size, self.size)], self.data[min(size, self.size):]
        return chunk


@pytest.mark.parametrize("prolog", ['<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-8"?>'],
                         ids=["undeclared", "declared-utf8"])
@pytest.mark.parametrize("chunk", [1 << 20, 1], ids=["whole", "byte-by-byte"])
def test_stray_bytes_in_a_utf8_file_cost_no_record(prolog: str, chunk: int) -> None:
    titles = ["Before the stray bytes", "Caf\x00 crème and \x01 zone", "After them: درمان سلولی, Ärzte, 𝄞 €"]
    text = export(*(record(50 + i, title) for i, title in enumerate(titles)), prolog=prolog)
    # One Latin-1 é inside UTF-8 text, and 0x81, which windows-1252 leaves undefined.
    data = text.encode("utf-8").replace(b"\x00", b"\xe9").replace(b"\x01", b"\x81")
    records = list(read_stream(_Chunked(data, chunk), "mixed.xml"))
    assert [r.title for r in records if isinstance(r, Article)] == [
        "Before the stray bytes", "Café crème and \ufffd zone", "After them: درمان سلولی, Ärzte, 𝄞 €"]
    [problem] = [r for r in records if isinstance(r, Problem)]
    bad_line = line_of(text, "Caf\x00")
    assert (problem.file, problem.line, problem.kind) == ("mixed.xml", bad_line, "error")
    assert problem.reason.startswith(f"bytes not valid UTF-8 at line {bad_line}, read as windows-1252"), problem


@pytest.mark.parametrize(("encoding", "titles"), [
    ("ISO-8859-1", ["Thérapie cellulaire", "Größe und Façade"]),
    ("windows-1252", ["Thérapie cellulaire", "Œuvres “choisies” — 5 €"]),
], ids=["ISO-8859-1", "windows-1252"])
@pytest.mark.parametrize("chunk", [1 << 20, 1], ids=["whole", "byte-by-byte"])
def test_a_declared_byte_encoding_is_read_as_declared(encoding: str, titles: list[str], chunk: int) -> None:
    text = export(*(record(70 + i, title) for i, title in enumerate(titles)), prolog=f'<?xml version="1.0" encoding="{encoding}"?>')
    records = list(read_stream(_Chunked(text.encode(encoding), chunk), "declared.xml"))
    assert records and [r.title for r in records if isinstance(r, Article)] == titles, records


def test_a_file_full_of_stray_bytes_is_reported_once_and_briefly() -> None:
    titles = [f"Thérapie numéro {i}" for i in range(300)]
    text = export(*(record(60 + i, title) for i, title in enumerate(titles)))
    records = list(read_stream(io.BytesIO(text.encode("latin-1")), "latin1.xml"))
    assert [r.title for r in records if isinstance(r, Article)] == titles
    [problem] = [r for r in records if isinstance(r, Problem)]
    lines = [n for n, line in enumerate(text.splitlines(), 1) if "é" in line]
    assert problem.line == lines[0] and len(lines) == 300
    assert f"at line {lines[0]} (and 299 more lines: {', '.join(map(str, lines[1:6]))}, ...)" in problem.reason, problem


class _Failing:
    """A binary stream that gives ``data``, then raises ``error`` instead of the rest."""

    def __init__(self, data: bytes, error: BaseException) -> None:
        self.data, self.error = data, error

    def read(self, size: int = -1) -> bytes:
        if not self.data:
            raise self.error
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk

    def __enter__(self) -> "_Failing":
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def _two_records_then(error: BaseException) -> Callable[[Path], _Failing]:
    head = export(record(30, "Read before the failure"), record(31, "Also read before it")).rsplit("</Articles>", 1)[0]
    return lambda path: _Failing(head.encode(), error)


@pytest.mark.parametrize("error", [
    EOFError("Compressed file ended before the end-of-stream marker was reached"),
    zlib.error("Error -3 while decompressing data: invalid block type"),
    UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    RuntimeError("something nobody expected"),
    MemoryError(),
    RecursionError("maximum recursion depth exceeded"),
], ids=lambda e: type(e).__name__)
def test_any_error_while_reading_becomes_the_files_problem(error: Exception, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("search.ingest._open", _two_records_then(error))
    records = list(read_file(tmp_path / "failing.xml"))
    assert [r.title for r in records if isinstance(r, Article)] == ["Read before the failure", "Also read before it"]
    problem = records[-1]
    assert isinstance(problem, Problem) and problem.kind == "error" and problem.file == str(tmp_path / "failing.xml")
    expected = "ends too early" if isinstance(error, EOFError) else type(error).__name__
    assert problem.reason.startswith("cannot read file") and expected in problem.reason, problem


def test_a_failure_in_the_first_kilobytes_keeps_the_record_before_it() -> None:
    head = export(record(32, "Read before an early failure")).rsplit("</Articles>", 1)[0]
    assert len(head.encode()) < 4096  # within the first block read, where the encoding is found
    records = list(read_stream(_Failing(head.encode(), EOFError("Compressed file ended")), "early.xml.gz"))
    assert [r.title for r in records if isinstance(r, Article)] == ["Read before an early failure"]
    assert isinstance(records[-1], Problem) and "ends too early" in records[-1].reason, records


def test_ctrl_c_stops_the_run_and_leaves_the_live_index_as_it_was(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURES / "seed-article.xml", data / "seed.xml")
    index = tmp_path / "index"
    assert CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--no-meaning"]).exit_code == 0
    live, before = store.live_generation(index), sorted(p.name for p in index.iterdir())
    (data / "more.xml").write_text(export(record(40, "Never indexed")))
    monkeypatch.setattr("search.ingest._open", _two_records_then(KeyboardInterrupt()))
    result = CliRunner().invoke(reindex_command, [str(data), "--index", str(index), "--no-meaning"])
    assert result.exit_code == 130 and "interrupted" in result.output, result.output
    assert store.live_generation(index) == live
    assert sorted(p.name for p in index.iterdir()) == before  # the half-written generation is gone
