"""Score the institution facet against hand-labelled affiliations.

Usage::

    .venv/bin/python scripts/eval_institutions.py [--data PATH] [--groups PATH] [--raw] [--show-errors]

Extraction: each line of ``--data`` is ``{"i", "affiliation", "institutions": [{"name",
"accept"}]}``.  Scores are micro precision, recall and F1 over (string, institution)
pairs; a prediction is right when its :func:`comparable` form equals that of the name
or an accepted form of a not yet matched labelled institution.  The predictions are
the facet values the strings get when they are the whole collection
(:func:`search.institution_facet.facet_values`, no alias file); ``--raw`` scores the
extractor's names as written instead.

Grouping: each line of ``--groups`` (``scripts/data/institution-groups.tsv``, described
in its header) is an organisation id, a source and an affiliation string.  Coverage is
the share of strings that carry their organisation's most common facet value; a
*merge* is a facet value that is the most common one of two organisations.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from collections import Counter, defaultdict  # noqa: E402

from search.institution_facet import facet_values, read_rules  # noqa: E402
from search.institutions import extract, score  # noqa: E402

DEFAULT_DATA = (REPO_ROOT / "../shared/corpora/institutions/dev.jsonl").resolve()
DEFAULT_GROUPS = REPO_ROOT / "scripts/data/institution-groups.tsv"


def load(path: Path) -> list[dict]:
    """The records of a JSON-lines file, skipping blank lines."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def facet_of_strings(strings: list[str]) -> list[list[str]]:
    """The facet values of each string, the strings taken as the whole collection."""
    names = [extract(text) for text in strings]
    values = facet_values(Counter(name for found in names for name in set(found)), read_rules(None))
    return [list(dict.fromkeys(values[name] for name in found)) for found in names]


def evaluate(records: list[dict], show_errors: bool = False, raw: bool = False) -> dict[str, float]:
    """Micro P/R/F1 and counts on ``records``; print mistakes if asked."""
    totals = {"tp": 0, "fp": 0, "fn": 0, "exact": 0}
    strings = [record["affiliation"] for record in records]
    values = [extract(text) for text in strings] if raw else facet_of_strings(strings)
    for record, predicted in zip(records, values):
        tp, fp, fn = score(predicted, record["institutions"])
        totals["tp"] += tp
        totals["fp"] += fp
        totals["fn"] += fn
        totals["exact"] += not (fp or fn)
        if show_errors and (fp or fn):
            print(f"#{record.get('i')}: {record['affiliation']}")
            print(f"    predicted: {predicted}")
            print(f"    labelled:  {[inst['name'] for inst in record['institutions']]}")
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, **totals, "records": len(records)}


def load_groups(path: Path) -> list[tuple[str, str]]:
    """(organisation id, affiliation) of a grouping file; comments and blanks skipped."""
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        columns = line.split("\t")
        if len(columns) != 3:
            raise SystemExit(f"{path}, line {number}: expected 3 tab-separated columns")
        rows.append((columns[0], columns[2]))
    return rows


def evaluate_groups(rows: list[tuple[str, str]], show_errors: bool = False) -> dict[str, float]:
    """Grouping coverage and merges of the facet on labelled strings."""
    values = facet_of_strings([text for _, text in rows])
    by_org: dict[str, list[list[str]]] = defaultdict(list)
    for (org, _), found in zip(rows, values):
        by_org[org].append(found)
    covered, top = 0, {}
    for org, found in by_org.items():
        counts = Counter(value for values_of_string in found for value in values_of_string)
        top[org] = counts.most_common(1)[0][0] if counts else ""
        covered += sum(top[org] in values_of_string for values_of_string in found)
        if show_errors:
            for (row_org, text), values_of_string in zip(rows, values):
                if row_org == org and top[org] not in values_of_string:
                    print(f"{org} (shown as {top[org]!r}): {text}\n    got {values_of_string}")
    owners = Counter(value for value in top.values() if value)
    merges = sorted(value for value, count in owners.items() if count > 1)
    if show_errors and merges:
        print("merged:", merges)
    return {"coverage": covered / len(rows), "strings": len(rows), "organisations": len(by_org),
            "merges": len(merges)}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Score search.institutions.extract against hand-labelled affiliations.")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="labelled JSON-lines file")
    parser.add_argument("--groups", type=Path, default=DEFAULT_GROUPS, help="labelled grouping file")
    parser.add_argument("--raw", action="store_true", help="score the extracted names, not facet values")
    parser.add_argument("--show-errors", action="store_true", help="print every wrong string")
    args = parser.parse_args(argv)
    result = evaluate(load(args.data), args.show_errors, args.raw)
    print(f"extraction: P={result['precision']:.3f} R={result['recall']:.3f} F1={result['f1']:.3f}  "
          f"tp={result['tp']} fp={result['fp']} fn={result['fn']}  "
          f"exact={result['exact']}/{result['records']} strings")
    groups = evaluate_groups(load_groups(args.groups), args.show_errors)
    print(f"grouping: coverage={groups['coverage']:.3f} on {groups['strings']} strings of "
          f"{groups['organisations']} organisations, {groups['merges']} merged values")
    return 0


if __name__ == "__main__":
    sys.exit(main())
